"""Hybrid retrieval: dense query embedding and BM25 sparse query, fused by the vector store."""

from __future__ import annotations

from rag.protocols import SparseEncoder, TokenEmbedder, VectorStore
from rag.types import Hit, SearchFilter


class HybridRetriever:
    """Top-k chunks by fusing dense and BM25 matches (weighted RRF or DBSF), with filters."""

    def __init__(
        self,
        encoder: TokenEmbedder,
        sparse_encoder: SparseEncoder,
        store: VectorStore,
        *,
        fusion: str = "rrf",
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        candidates: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.sparse_encoder = sparse_encoder
        self.store = store
        self.fusion = fusion
        self.weights = (dense_weight, sparse_weight)
        self.candidates = candidates

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """Return up to ``k`` hits, best first."""
        vector = self.encoder.embed([query], "query")[0]
        sparse = self.sparse_encoder.embed_query(query)
        return self.store.hybrid_search(
            vector,
            sparse,
            k,
            search_filter,
            fusion=self.fusion,
            weights=self.weights,
            candidates=self.candidates,
        )
