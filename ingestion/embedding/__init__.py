"""Chunk vectors from token states: span mapping, macro windows, pooling; late, naive, mixed."""

from ingestion.embedding.late import ChunkVectorizer, LateChunker, NaiveChunker
from ingestion.embedding.mixed import MixedChunker
from ingestion.embedding.pooling import SpanPooler, pool_spans
from ingestion.embedding.spans import Window, macro_windows, token_spans

__all__ = [
    "ChunkVectorizer",
    "LateChunker",
    "MixedChunker",
    "NaiveChunker",
    "SpanPooler",
    "Window",
    "macro_windows",
    "pool_spans",
    "token_spans",
]
