"""Chunk vectors from token states: span mapping, macro windows, pooling; late, naive, mixed."""

from ingestion.embedding.late import LatePlan, LateVectorizer
from ingestion.embedding.mixed import MixedPlan, MixedVectorizer, blend
from ingestion.embedding.naive import NaivePlan, NaiveVectorizer
from ingestion.embedding.plan import Plan
from ingestion.embedding.pooling import SpanPooler, pool_spans
from ingestion.embedding.spans import Window, macro_windows, token_spans

__all__ = [
    "LatePlan",
    "LateVectorizer",
    "MixedPlan",
    "MixedVectorizer",
    "NaivePlan",
    "NaiveVectorizer",
    "Plan",
    "SpanPooler",
    "Window",
    "blend",
    "macro_windows",
    "pool_spans",
    "token_spans",
]
