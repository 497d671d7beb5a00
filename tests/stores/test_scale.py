"""The store at scale: HNSW built by optimize, payload indexes, quantisation, Matryoshka dims."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from rag.config import ChunkingConfig, EmbedderConfig, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.errors import ConfigError
from rag.sdk import RAG
from rag.stores.edge import EdgeStore
from rag.stores.payload import INDEXED_FIELDS
from rag.stores.server import ServerStore
from rag.types import Chunk, SparseVec
from rag.vectors import TruncatedEncoder, truncate

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "examples" / "docs"
DIM = 64
N = 2000


def unit_rows(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """Seeded random unit vectors, one per row."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def chunks_for(vectors: np.ndarray) -> list[Chunk]:
    """One chunk per vector, 20 per document, each with a small sparse vector."""
    return [
        Chunk(
            doc_id=f"doc-{i // 20}",
            source=f"/corpus/doc-{i // 20}.txt",
            content_hash="c" * 16,
            index=i % 20,
            text=f"chunk {i}",
            char_span=(i, i + 1),
            vector=vector,
            sparse=SparseVec((i % 97, 100 + i % 13), (1.0, 0.5)),
        )
        for i, vector in enumerate(vectors)
    ]


def near(vectors: np.ndarray, seed: int = 1, noise: float = 0.05) -> np.ndarray:
    """Queries planted next to ``vectors``."""
    jitter = np.random.default_rng(seed).normal(0, noise, vectors.shape).astype(np.float32)
    q = vectors + jitter
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def top_ids(store: EdgeStore, queries: np.ndarray, k: int = 10) -> list[list[str]]:
    return [[hit.chunk.id for hit in store.search(q, k)] for q in queries]


def test_optimize_indexes_a_grown_collection_and_keeps_results(tmp_path: Path) -> None:
    vectors = unit_rows(N)
    chunks = chunks_for(vectors)
    queries = near(vectors[:40])
    messages: list[str] = []
    with EdgeStore(tmp_path / "big", indexing_threshold_kb=1) as store:
        store.create_collection(DIM)
        store.upsert(chunks)
        before = store.index_status()
        assert before is not None and before.unindexed >= N
        exact = top_ids(store, queries)  # a full scan before the index exists

        assert store.optimize(messages.append) is True

        after = store.index_status()
        assert after is not None and after.unindexed == 0
        assert store.count() == N
        assert len(store.documents()) == N // 20
        found = top_ids(store, queries)
        overlap = [len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]
        assert np.mean(overlap) >= 0.95
        assert [ids[0] for ids in found] == [chunks[i].id for i in range(40)]
        hybrid = store.hybrid_search(queries[0], chunks[0].sparse, 5)  # type: ignore[arg-type]
        assert hybrid[0].chunk.id == chunks[0].id
    assert messages[0].startswith(f"indexing {N} chunks")
    assert "built in" in messages[-1]


def test_optimize_leaves_a_small_collection_to_full_scans(tmp_path: Path) -> None:
    messages: list[str] = []
    with EdgeStore(tmp_path / "small") as store:
        store.create_collection(DIM)
        store.upsert(chunks_for(unit_rows(100)))
        assert store.optimize(messages.append) is False
        status = store.index_status()
    assert messages == []
    assert status is not None and status.points == 100


def test_optimize_without_collection_does_nothing(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "none") as store:
        assert store.optimize() is False
        assert store.index_status() is None
        assert store.vector_size() is None


def test_filter_fields_have_payload_indexes(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "s") as store:
        store.create_collection(DIM)
        store.upsert(chunks_for(unit_rows(5)))
        status = store.index_status()
    assert status is not None
    assert set(INDEXED_FIELDS) <= set(status.payload_indexes)
    assert {"doc_id", "source"} <= set(status.payload_indexes)


@pytest.mark.parametrize("kind", ["scalar", "binary"])
def test_quantised_collection_finds_planted_neighbours(tmp_path: Path, kind: str) -> None:
    vectors = unit_rows(N, 128, seed=3)
    chunks = chunks_for(vectors)
    planted = list(range(0, N, 100))
    with EdgeStore(tmp_path / kind, quantization=kind, indexing_threshold_kb=1) as store:
        store.create_collection(128)
        store.upsert(chunks)
        assert store.optimize() is True
        hits = [store.search(q, 3) for q in near(vectors[planted], noise=0.02)]
    assert [h[0].chunk.id for h in hits] == [chunks[i].id for i in planted]
    # rescored with the float vectors: the scores are cosine similarities
    assert all(0.9 < h[0].score <= 1.0 + 1e-5 for h in hits)
    with EdgeStore(tmp_path / kind) as reopened:  # the collection keeps its quantisation
        status = reopened.index_status()
    assert status is not None and status.quantization == kind


def test_unknown_quantization_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="none, scalar, binary"):
        EdgeStore(tmp_path / "x", quantization="product")
    with pytest.raises(ConfigError, match="none, scalar, binary"):
        ServerStore(location=":memory:", quantization="int4")


def test_server_store_creates_quantised_collections_and_searches_them() -> None:
    vectors = unit_rows(200, seed=5)
    chunks = chunks_for(vectors)
    with ServerStore(location=":memory:", quantization="scalar") as store:
        store.create_collection(DIM)
        store.upsert(chunks)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # local mode warns about search params it ignores
            hits = store.search(near(vectors[7:8])[0], 1)
        assert store.vector_size() == DIM
    assert hits[0].chunk.id == chunks[7].id


def test_truncate_keeps_leading_dims_and_renormalises() -> None:
    x = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    cut = truncate(x, 2)
    assert np.allclose(cut, [[0.6, 0.8], [0.0, 0.0]])
    with pytest.raises(ConfigError, match="cannot keep 4 dimensions"):
        truncate(x, 4)


def test_dims_truncate_chunks_and_queries_through_the_sdk(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    store = StoreConfig(path=tmp_path / "store")
    late = ChunkingConfig(mode="late")
    small = RAGConfig(store=store, embedder=EmbedderConfig(dims=128), chunking=late)
    handbook = DOCS / "handbook.md"
    full_config = RAGConfig(store=StoreConfig(path=tmp_path / "full"), chunking=late)
    with RAG(full_config, encoder=encoder) as full:
        full_chunks = full.chunks(handbook, vectors=True)
    with RAG(small, encoder=encoder) as rag:
        cut_chunks = rag.chunks(handbook, vectors=True)
        rag.ingest([DOCS])
        assert rag.store.vector_size() == 128  # type: ignore[attr-defined]
    # late chunking pools the cut token states: the same as cutting the pooled vector
    for a, b in zip(cut_chunks, full_chunks, strict=True):
        assert a.vector is not None and b.vector is not None
        assert a.vector.shape == (128,)
        assert np.allclose(a.vector, truncate(b.vector[None], 128)[0], atol=1e-5)
    # the collection records its size: a RAG without dims queries it at 128
    with RAG(RAGConfig(store=store), encoder=encoder) as later:
        hits = later.search("How many vacation days do new employees get?", 1)
        assert isinstance(later.encoder, TruncatedEncoder)
    assert Path(hits[0].chunk.source).name == "handbook.md"


def test_dims_refuse_a_mismatched_collection_and_oversized_cuts(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    store = StoreConfig(path=tmp_path / "store")
    with RAG(RAGConfig(store=store, embedder=EmbedderConfig(dims=256)), encoder=encoder) as rag:
        rag.ingest([DOCS / "travel-policy.txt"])
    with (
        RAG(RAGConfig(store=store, embedder=EmbedderConfig(dims=128)), encoder=encoder) as rag,
        pytest.raises(ConfigError, match="holds vectors of size 256, not 128"),
    ):
        rag.search("hotel limit in Tokyo")
    fresh = StoreConfig(path=tmp_path / "fresh")
    with (
        RAG(RAGConfig(store=fresh, embedder=EmbedderConfig(dims=512)), encoder=encoder) as rag,
        pytest.raises(ConfigError, match="dims 512 exceed the 384 dimensions"),
    ):
        rag.ingest([DOCS / "travel-policy.txt"])
