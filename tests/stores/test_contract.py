from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.config import StoreConfig
from rag.encoders.sparse import Bm25Encoder
from rag.errors import ConfigError, StoreError, StoreLockedError
from rag.protocols import VectorStore
from rag.stores import open_store
from rag.stores.edge import EdgeStore
from rag.stores.payload import BATCH_SIZE, chunk_to_payload, payload_to_chunk
from rag.stores.server import ServerStore
from rag.types import Chunk, SearchFilter, Span, SparseVec, document_id

REPO = Path(__file__).resolve().parents[2]
DIM = 16
META = {"chunking": "late", "model": "fake-hash-16"}


def fake_vector(text: str, dim: int = DIM) -> np.ndarray:
    """Return a deterministic unit vector seeded from the SHA-256 of ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def make_chunks(
    source: str,
    version: str = "v1",
    n: int = 3,
    *,
    token_spans: bool = True,
    page_spans: bool = True,
    dim: int = DIM,
) -> list[Chunk]:
    """Build ``n`` embedded chunks of one version of the document at ``source``."""
    doc_id = document_id(source)
    content_hash = hashlib.sha256(f"{source}:{version}".encode()).hexdigest()
    chunks = []
    for i in range(n):
        text = f"{source} {version} chunk {i}: some words about topic {i}"
        char_span: Span = (i * 100, i * 100 + len(text))
        chunks.append(
            Chunk(
                doc_id=doc_id,
                source=source,
                content_hash=content_hash,
                index=i,
                text=text,
                char_span=char_span,
                token_span=(i * 20, i * 20 + 12) if token_spans else None,
                page_span=(i + 1, i + 2) if page_spans else None,
                headings=("Report", f"Section {i}"),
                vector=fake_vector(text, dim),
                metadata=META,
            )
        )
    return chunks


def with_sparse(chunks: list[Chunk]) -> list[Chunk]:
    """Return ``chunks`` with the BM25 sparse vectors of their texts."""
    sparse = Bm25Encoder().embed_documents([c.text for c in chunks])
    return [replace(c, sparse=s) for c, s in zip(chunks, sparse, strict=True)]


INVOICE = "Payment reminder for invoice INV-40417 from the supplier"
"""A chunk only a lexical match finds: its dense vector is unrelated to the query's."""


def hybrid_corpus() -> list[Chunk]:
    """Chunks of a.md and b.md with sparse vectors; one of a.md names a rare invoice number."""
    chunks = make_chunks("a.md", n=4) + make_chunks("b.md", n=4)
    invoice = replace(chunks[2], text=INVOICE, vector=fake_vector(INVOICE))
    return with_sparse([*chunks[:2], invoice, *chunks[3:]])


class TestVectorStoreContract:
    """Every ``VectorStore`` backend must pass these."""

    def test_is_a_vector_store(self, store: VectorStore) -> None:
        assert isinstance(store, VectorStore)

    def test_reads_before_any_collection(self, store: VectorStore) -> None:
        assert not store.exists()
        assert store.count() == 0
        assert store.document(document_id("a.md")) is None
        assert store.documents() == []
        assert store.delete_document(document_id("a.md")) == 0

    def test_search_without_collection_raises(self, store: VectorStore) -> None:
        with pytest.raises(StoreError, match="'default' does not exist: ingest documents first"):
            store.search(fake_vector("q"), 3)

    def test_create_collection_is_idempotent(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.create_collection(DIM)
        assert store.exists()
        assert store.count() == 0

    def test_dim_mismatch_names_both_sizes(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        with pytest.raises(ConfigError, match=r"size 16.*size 32"):
            store.create_collection(32)

    def test_search_returns_exact_chunk_first(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        chunks = make_chunks("a.md") + make_chunks("b.md")
        store.upsert(chunks)
        for chunk in chunks:
            assert chunk.vector is not None
            hits = store.search(chunk.vector, 3)
            assert len(hits) == 3
            assert hits[0].chunk == chunk
            assert hits[0].chunk.vector is None
            assert hits[0].score == pytest.approx(1.0, abs=1e-5)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_k_larger_than_collection(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(make_chunks("a.md", n=2))
        assert len(store.search(fake_vector("q"), 10)) == 2

    def test_reupsert_keeps_count(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(make_chunks("a.md"))
        again = make_chunks("a.md")
        assert [c.id for c in again] == [c.id for c in make_chunks("a.md")]
        store.upsert(again)
        assert store.count() == 3

    def test_upsert_in_batches(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(make_chunks("big.md", n=BATCH_SIZE + 7))
        assert store.count() == BATCH_SIZE + 7

    def test_delete_document_removes_all_of_it(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(make_chunks("a.md") + make_chunks("b.md", n=2))
        assert store.delete_document(document_id("a.md")) == 3
        assert store.count() == 2
        assert store.document(document_id("a.md")) is None
        assert store.delete_document(document_id("a.md")) == 0

    def test_delete_document_keeps_new_version(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        old, new = make_chunks("a.md", "v1", n=3), make_chunks("a.md", "v2", n=2)
        store.upsert(old + new)
        assert store.count() == 5
        kept = new[0].content_hash
        assert store.delete_document(new[0].doc_id, keep_hash=kept) == 3
        info = store.document(new[0].doc_id)
        assert info is not None
        assert (info.content_hash, info.chunks) == (kept, 2)
        assert store.count() == 2

    def test_filters_by_source_and_doc_id(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(make_chunks("a.md") + make_chunks("b.md") + make_chunks("c.md"))
        query = fake_vector("anything")
        only_b = SearchFilter(sources=("b.md",))
        assert {h.chunk.source for h in store.search(query, 9, only_b)} == {"b.md"}
        a_or_c = SearchFilter(doc_ids=(document_id("a.md"), document_id("c.md")))
        assert {h.chunk.source for h in store.search(query, 9, a_or_c)} == {"a.md", "c.md"}
        assert store.count(a_or_c) == 6
        both = SearchFilter(sources=("a.md", "b.md"), doc_ids=(document_id("b.md"),))
        assert store.count(both) == 3
        assert store.count(SearchFilter()) == 9
        assert store.search(query, 5, SearchFilter(sources=("nope.md",))) == []

    def test_documents_lists_docs_with_counts(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(make_chunks("b.md", n=2) + make_chunks("a.md", n=4))
        docs = store.documents()
        assert [(d.source, d.chunks) for d in docs] == [("a.md", 4), ("b.md", 2)]
        assert docs[0].doc_id == document_id("a.md")
        assert docs[0].content_hash == make_chunks("a.md")[0].content_hash
        assert dict(docs[0].metadata) == META
        assert store.document(document_id("b.md")) == docs[1]

    @pytest.mark.parametrize("token_spans", [True, False])
    @pytest.mark.parametrize("page_spans", [True, False])
    def test_payload_roundtrip(
        self, store: VectorStore, token_spans: bool, page_spans: bool
    ) -> None:
        store.create_collection(DIM)
        chunk = make_chunks("a.md", n=1, token_spans=token_spans, page_spans=page_spans)[0]
        chunk = replace(chunk, headings=(), metadata={"chunking": "naive", "n": 3, "x": [1]})
        store.upsert([chunk])
        assert chunk.vector is not None
        (hit,) = store.search(chunk.vector, 1)
        assert hit.chunk == chunk
        assert (hit.chunk.token_span is None) is not token_spans
        assert (hit.chunk.page_span is None) is not page_spans

    def test_missing_vector_raises(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        good = make_chunks("a.md", n=2)
        with pytest.raises(StoreError, match="no vector"):
            store.upsert([good[0], replace(good[1], vector=None)])
        assert store.count() == 0

    def test_wrong_vector_size_raises(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        with pytest.raises(StoreError, match=r"expected \(16,\)"):
            store.upsert(make_chunks("a.md", dim=8))
        with pytest.raises(StoreError, match=r"expected \(16,\)"):
            store.search(np.ones(8, dtype=np.float32), 1)

    def test_upsert_before_create_raises(self, store: VectorStore) -> None:
        with pytest.raises(StoreError, match="create_collection"):
            store.upsert(make_chunks("a.md"))

    def test_hybrid_finds_lexical_match(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        chunks = hybrid_corpus()
        store.upsert(chunks)
        query = "which invoice is INV-40417?"
        vector, sparse = fake_vector(query), Bm25Encoder().embed_query(query)
        dense = [h.chunk.text for h in store.search(vector, len(chunks))]
        assert dense.index(INVOICE) >= 2
        hits = store.hybrid_search(vector, sparse, 3)
        assert [h.chunk.text for h in hits][0] == INVOICE
        assert hits[0].chunk == chunks[2]
        assert hits[0].chunk.vector is None
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        dbsf = store.hybrid_search(vector, sparse, 3, fusion="dbsf")
        assert INVOICE in [h.chunk.text for h in dbsf]

    def test_hybrid_weights_change_the_order(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        chunks = hybrid_corpus()
        store.upsert(chunks)
        vector = chunks[5].vector  # dense favourite: b.md chunk 1
        assert vector is not None
        sparse = Bm25Encoder().embed_query("INV-40417")
        assert INVOICE not in [h.chunk.text for h in store.search(vector, 2)]

        def top(weights: tuple[float, float]) -> str:
            hits = store.hybrid_search(vector, sparse, 2, weights=weights, candidates=2)
            return hits[0].chunk.text

        assert top((2.0, 1.0)) == chunks[5].text
        assert top((1.0, 2.0)) == INVOICE

    def test_hybrid_applies_filters(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        store.upsert(hybrid_corpus())
        query = "invoice INV-40417"
        vector, sparse = fake_vector(query), Bm25Encoder().embed_query(query)
        only_b = SearchFilter(sources=("b.md",))
        hits = store.hybrid_search(vector, sparse, 8, only_b)
        assert len(hits) == 4
        assert {h.chunk.source for h in hits} == {"b.md"}
        assert store.hybrid_search(vector, sparse, 3, SearchFilter(sources=("no.md",))) == []

    def test_hybrid_refuses_bad_fusion(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        sparse = Bm25Encoder().embed_query("x")
        with pytest.raises(ConfigError, match="rrf, dbsf"):
            store.hybrid_search(fake_vector("q"), sparse, 3, fusion="max")
        with pytest.raises(ConfigError, match="use rrf"):
            store.hybrid_search(fake_vector("q"), sparse, 3, fusion="dbsf", weights=(1, 2))
        with pytest.raises(ConfigError, match="not all 0"):
            store.hybrid_search(fake_vector("q"), sparse, 3, weights=(0, 0))

    def test_hybrid_without_collection_raises(self, store: VectorStore) -> None:
        sparse = Bm25Encoder().embed_query("x")
        with pytest.raises(StoreError, match="does not exist"):
            store.hybrid_search(fake_vector("q"), sparse, 3)

    def test_bad_sparse_vector_raises(self, store: VectorStore) -> None:
        store.create_collection(DIM)
        chunk = replace(make_chunks("a.md", n=1)[0], sparse=SparseVec((1, 2), (0.5,)))
        with pytest.raises(StoreError, match="2 indices but 1 values"):
            store.upsert([chunk])

    def test_unopened_store_raises(self, store_factory: Callable[[], VectorStore]) -> None:
        with pytest.raises(StoreError, match="not open"):
            store_factory().count()


def test_payload_schema() -> None:
    chunk = make_chunks("a.md", n=1, token_spans=False)[0]
    payload = chunk_to_payload(chunk)
    assert payload["token_start"] is None and payload["token_end"] is None
    assert payload["page_start"] == 1 and payload["page_end"] == 2
    assert payload["meta"] == META
    assert payload["headings"] == ["Report", "Section 0"]
    assert payload_to_chunk(payload) == chunk


def test_bad_payload_raises() -> None:
    with pytest.raises(StoreError, match="payload"):
        payload_to_chunk({"text": "x"})


# Embedded store only


def test_edge_survives_close_and_reopen(tmp_path: Path) -> None:
    chunks = make_chunks("a.md")
    with EdgeStore(tmp_path / "s") as store:
        store.create_collection(DIM)
        store.upsert(chunks)
    with EdgeStore(tmp_path / "s") as store:
        assert store.exists()
        assert store.count() == 3
        assert chunks[1].vector is not None
        assert store.search(chunks[1].vector, 1)[0].chunk == chunks[1]
        with pytest.raises(ConfigError, match="size 16"):
            store.create_collection(DIM * 2)


def test_edge_open_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "s"
    with EdgeStore(folder) as store:
        assert not store.exists()
        assert not folder.exists()
        store.create_collection(DIM)
        assert store.exists()
    assert folder.is_dir()


def test_edge_second_open_in_process_is_locked(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "s") as first:
        first.create_collection(DIM)
        second = EdgeStore(tmp_path / "s")
        with pytest.raises(StoreLockedError, match=r"is in use by another process") as caught:
            second.open()
        assert str(tmp_path / "s") in str(caught.value)
    with EdgeStore(tmp_path / "s") as third:
        assert third.exists()


HOLDER = """
import sys
from rag.stores.edge import EdgeStore
store = EdgeStore(sys.argv[1])
store.open()
store.create_collection(16)
print("ready", flush=True)
sys.stdin.read()
store.close()
"""


def test_edge_open_held_by_other_process_is_locked(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        assert line == "ready", holder.stderr.read() if holder.stderr else line
        with pytest.raises(StoreLockedError, match="in use by another process"):
            EdgeStore(folder).open()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with EdgeStore(folder) as store:
        assert store.exists()


def test_open_store_picks_edge_folder(tmp_path: Path) -> None:
    store = open_store(StoreConfig(path=tmp_path, collection="notes"))
    try:
        assert isinstance(store, EdgeStore)
        assert store.folder == tmp_path / "notes"
        assert store.collection == "notes"
        store.create_collection(DIM)
        assert (tmp_path / "notes").is_dir()
    finally:
        store.close()


# Server store only


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_server_unreachable_names_url_not_key() -> None:
    config = StoreConfig(url="http://127.0.0.1:1", api_key="top-secret-key", collection="c")
    with pytest.raises(StoreError, match=r"http://127\.0\.0\.1:1") as caught:
        open_store(config)
    assert "top-secret-key" not in str(caught.value)


def test_server_constructor_does_no_io() -> None:
    store = ServerStore("http://127.0.0.1:1", api_key="k", collection="c")
    assert store.collection == "c"
    assert "k'" not in repr(store)
    with pytest.raises(ConfigError):
        ServerStore("http://127.0.0.1:1", location=":memory:")


# Collections made before hybrid search (dense vectors only)


def test_edge_without_sparse_vectors_refuses_hybrid(tmp_path: Path) -> None:
    from qdrant_edge import Distance, EdgeConfig, EdgeShard, EdgeVectorParams

    folder = tmp_path / "old"
    config = EdgeConfig(vectors={"dense": EdgeVectorParams(size=DIM, distance=Distance.Cosine)})
    EdgeShard.create(str(folder), config).close()
    with EdgeStore(folder, collection="old") as store:
        store.upsert(with_sparse(make_chunks("a.md")))
        assert store.count() == 3
        with pytest.raises(ConfigError, match="'old' has no sparse vectors"):
            store.hybrid_search(fake_vector("q"), Bm25Encoder().embed_query("a"), 3)


def test_server_without_sparse_vectors_refuses_hybrid() -> None:
    from qdrant_client import models

    with ServerStore(location=":memory:", collection="old") as store:
        assert store._client is not None
        params = models.VectorParams(size=DIM, distance=models.Distance.COSINE)
        store._client.create_collection("old", vectors_config={"dense": params})
        store.upsert(with_sparse(make_chunks("a.md")))
        assert store.count() == 3
        with pytest.raises(ConfigError, match="'old' has no sparse vectors"):
            store.hybrid_search(fake_vector("q"), Bm25Encoder().embed_query("a"), 3)
