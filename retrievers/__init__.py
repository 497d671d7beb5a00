"""Retrievers: turn a query into the hits that answer it."""

from retrievers.dense import DenseRetriever
from retrievers.hybrid import HybridRetriever
from retrievers.title_boost import TitleBoostedRetriever, TitleVectors

__all__ = ["DenseRetriever", "HybridRetriever", "TitleBoostedRetriever", "TitleVectors"]
