"""Retrievers: turn a query into the hits that answer it."""

from retrievers.dense import DenseRetriever
from retrievers.hybrid import HybridRetriever

__all__ = ["DenseRetriever", "HybridRetriever"]
