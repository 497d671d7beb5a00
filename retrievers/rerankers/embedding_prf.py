"""Listwise reranking with the search embedder itself, in the spirit of E2Rank.

The query vector is enriched with the mean of the top candidates' vectors (pseudo-relevance
feedback), and every candidate is re-scored by cosine against that enriched query.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.errors import ConfigError
from rag.protocols import Embedder
from rag.types import Hit
from retrievers.rerankers.ranking import rescored


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def prf_scores(
    query: np.ndarray, candidates: np.ndarray, *, feedback: int, alpha: float
) -> np.ndarray:
    """Cosine of each candidate row with ``query + alpha * mean(first feedback rows)``."""
    q = _normalise(np.asarray(query, dtype=np.float32))
    docs = _normalise(np.asarray(candidates, dtype=np.float32))
    top = docs[: min(feedback, len(docs))]
    enriched = q + alpha * top.mean(axis=0) if len(top) and alpha > 0 else q
    return np.asarray(docs @ _normalise(enriched), dtype=np.float32)


class EmbeddingPRFReranker:
    """Re-scores hits with the same embedding model against a feedback-enriched query.

    Needs no extra model: the candidates' texts and the query are embedded by ``encoder``.
    """

    def __init__(self, encoder: Embedder, *, feedback: int = 3, alpha: float = 0.5) -> None:
        if feedback < 0:
            raise ConfigError(f"reranker feedback must be 0 or more candidates, got {feedback}")
        if alpha < 0:
            raise ConfigError(f"reranker alpha must be 0 or more, got {alpha:g}")
        self.encoder = encoder
        self.feedback = feedback
        self.alpha = alpha
        self.name = f"embedding:{encoder.name}"

    def __repr__(self) -> str:
        return (
            f"EmbeddingPRFReranker(encoder={self.encoder.name!r}, "
            f"feedback={self.feedback}, alpha={self.alpha:g})"
        )

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Return the ``k`` hits closest to the enriched query, best first."""
        if not hits or k < 1:
            return []
        query_vector = self.encoder.embed([query], "query")[0]
        candidates = self.encoder.embed([hit.chunk.text for hit in hits], "document")
        scores = prf_scores(query_vector, candidates, feedback=self.feedback, alpha=self.alpha)
        return rescored(hits, scores.tolist(), k)
