"""Retrievers: turn a query into the hits that answer it."""

from retrievers.dense import DenseRetriever

__all__ = ["DenseRetriever"]
