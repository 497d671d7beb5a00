"""Retrievers: turn a query into the hits that answer it."""

# The rag package re-exports the SDK, which is built on this package: initialise it first, so
# that any module of this package can be the first one imported.
import rag  # noqa: F401  isort: skip

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
