"""BM25-style sparse vectors for lexical matching, made in-process with qdrant-edge's ``Bm25``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.types import SparseVec

if TYPE_CHECKING:
    from qdrant_edge import Bm25, SparseVector

NAME = "bm25"
"""How the sparse vectors of a collection were made."""


def _to_vec(vector: SparseVector) -> SparseVec:
    return SparseVec(
        indices=tuple(int(i) for i in vector.indices),
        values=tuple(float(v) for v in vector.values),
    )


class Bm25Encoder:
    """Hashed-term BM25 weights: term frequencies for documents, ones for queries.

    The inverse document frequency is left to the store (a sparse vector with the IDF
    modifier), so the same chunk vectors stay valid as the collection grows.
    """

    name = NAME

    def __init__(self) -> None:
        self._model: Bm25 | None = None

    def _bm25(self) -> Bm25:
        if self._model is None:
            from qdrant_edge import Bm25

            self._model = Bm25()
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> list[SparseVec]:
        """Return one sparse vector per document text (empty when it has no terms)."""
        model = self._bm25()
        return [_to_vec(model.embed_document(text)) for text in texts]

    def embed_query(self, text: str) -> SparseVec:
        """Return the sparse vector of a query (empty when it has no terms)."""
        return _to_vec(self._bm25().embed_query(text))
