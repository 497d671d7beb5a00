"""BM25 sparse vectors: made at ingest for every embedded chunk, the same for both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.encoders.sparse import Bm25Encoder
from rag.protocols import SparseEncoder
from rag.types import SparseVec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


def weights(vector: SparseVec) -> dict[int, float]:
    return dict(zip(vector.indices, vector.values, strict=True))


def test_bm25_encoder_is_a_sparse_encoder() -> None:
    assert isinstance(Bm25Encoder(), SparseEncoder)


def test_same_terms_same_indices_whatever_the_case() -> None:
    encoder = Bm25Encoder()
    query = encoder.embed_query("Invoice INV-40417")
    assert query == encoder.embed_query("invoice inv-40417")
    assert set(query.values) == {1.0}
    (doc,) = encoder.embed_documents(["The invoice INV-40417 was paid."])
    assert set(query.indices) <= set(doc.indices)
    assert encoder.embed_query("INV-40418").indices != query.indices


def test_repeated_terms_weigh_more_in_documents() -> None:
    once, twice = Bm25Encoder().embed_documents(["audit report", "audit audit report"])
    audit = Bm25Encoder().embed_query("audit").indices[0]
    report = Bm25Encoder().embed_query("report").indices[0]
    assert weights(twice)[audit] > weights(once)[audit]
    assert weights(twice)[report] < weights(twice)[audit]


def test_texts_without_terms_give_empty_vectors() -> None:
    empty = SparseVec((), ())
    assert Bm25Encoder().embed_documents(["", "   "]) == [empty, empty]
    assert Bm25Encoder().embed_query("") == empty


@pytest.mark.slow
@pytest.mark.integration
def test_embedded_chunks_get_sparse_vectors(tmp_path: Path, encoder: TransformerEncoder) -> None:
    with RAG(RAGConfig(store=StoreConfig(path=tmp_path)), encoder=encoder) as rag:
        embedded = rag.chunks(EXAMPLES / "security.html", vectors=True)
        plain = rag.chunks(EXAMPLES / "security.html")
    assert embedded and all(c.sparse is not None and c.sparse.indices for c in embedded)
    assert all(c.sparse is None for c in plain)
    expected = Bm25Encoder().embed_documents([c.text for c in embedded])
    assert [c.sparse for c in embedded] == expected
