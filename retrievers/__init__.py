"""Retrievers: turn a query into the hits that answer it."""

from retrievers.dense import DenseRetriever
from retrievers.hybrid import HybridRetriever
from retrievers.per_page import PerPageRetriever
from retrievers.title_boost import TitleBoostedRetriever, TitleVectors

__all__ = [
    "DenseRetriever",
    "HybridRetriever",
    "PerPageRetriever",
    "TitleBoostedRetriever",
    "TitleVectors",
]
