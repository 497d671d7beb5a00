"""Dense retrieval: embed the query, search the vector store."""

from __future__ import annotations

from rag.protocols import TokenEmbedder, VectorStore
from rag.types import Hit, SearchFilter


class DenseRetriever:
    """Top-k nearest chunks to the query embedding, with optional metadata filters."""

    def __init__(self, encoder: TokenEmbedder, store: VectorStore) -> None:
        self.encoder = encoder
        self.store = store

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """Return up to ``k`` hits, best first."""
        vector = self.encoder.embed([query], "query")[0]
        return self.store.search(vector, k, search_filter)
