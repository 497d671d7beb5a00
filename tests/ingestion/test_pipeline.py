"""The pieces of a crash-safe ingest without a model: store ids, manifest rows, recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingestion.manifest import Entry, Manifest, manifest_for
from ingestion.pipeline import collection_settings, settings_error
from rag.protocols import VectorStore
from rag.stores.edge import EdgeStore
from rag.stores.server import ServerStore
from rag.stores.server_manifest import ServerManifestRows
from rag.types import Chunk

DIM = 8


def chunks(doc_id: str, content_hash: str, spans: list[tuple[int, int]]) -> list[Chunk]:
    rng = np.random.default_rng(len(spans))
    return [
        Chunk(
            doc_id=doc_id,
            source=f"/docs/{doc_id}.txt",
            content_hash=content_hash,
            index=i,
            text=f"text {start}-{end}",
            char_span=(start, end),
            vector=rng.random(DIM).astype(np.float32),
        )
        for i, (start, end) in enumerate(spans)
    ]


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    backend: VectorStore = (
        EdgeStore(tmp_path / "docs")
        if request.param == "edge"
        else ServerStore(location=":memory:")
    )
    with backend:
        backend.create_collection(DIM)
        yield backend


def test_a_store_lists_and_deletes_a_documents_points_by_id(store: VectorStore) -> None:
    old = chunks("a", "h1", [(0, 5), (5, 9)])
    new = chunks("a", "h2", [(0, 9)])
    other = chunks("b", "h1", [(0, 3)])
    store.upsert(old + new + other)
    assert sorted(store.chunk_ids("a")) == sorted(c.id for c in old + new)
    store.delete_points([c.id for c in old] + ["00000000-0000-0000-0000-000000000000"])
    assert store.chunk_ids("a") == [new[0].id]
    assert store.chunk_ids("b") == [other[0].id]
    assert store.chunk_ids("missing") == []
    store.delete_points([])
    assert store.count() == 2


def entry(batch: list[Chunk]) -> Entry:
    first = batch[0]
    return Entry(first.doc_id, first.source, first.content_hash, tuple(c.id for c in batch))


def test_recovery_undoes_a_pending_version_and_keeps_the_committed_one(
    store: VectorStore,
) -> None:
    manifest = manifest_for(store)  # the store's own: SQLite beside it, or on the server
    old = chunks("a", "h1", [(0, 5), (5, 9)])
    manifest.begin(entry(old), [])
    store.upsert(old)
    manifest.commit("a")
    manifest.settle("a")
    new = chunks("a", "h2", [(0, 4), (4, 9)])
    manifest.begin(entry(new), store.chunk_ids("a"))
    store.upsert(new[:1])  # killed half way through the write
    assert manifest.recover(store) == 2
    assert sorted(store.chunk_ids("a")) == sorted(c.id for c in old)
    record = manifest.get("a")
    assert record is not None and record.pending is None and record.previous == ()
    assert record.committed == entry(old)
    assert manifest.recover(store) == 0


def test_recovery_finishes_a_committed_swap_and_drops_a_first_version_never_committed(
    store: VectorStore,
) -> None:
    manifest = manifest_for(store)  # the store's own: SQLite beside it, or on the server
    old, new = chunks("a", "h1", [(0, 5)]), chunks("a", "h2", [(0, 6)])
    store.upsert(old)
    manifest.begin(entry(new), store.chunk_ids("a"))
    store.upsert(new)
    manifest.commit("a")  # killed before the old chunks were deleted
    first = chunks("b", "h1", [(0, 3), (3, 6)])
    manifest.begin(entry(first), [])
    store.upsert(first[:1])
    manifest.recover(store)
    assert store.chunk_ids("a") == [new[0].id]
    assert store.chunk_ids("b") == []
    assert manifest.get("b") is None
    assert [e.doc_id for e in manifest.entries()] == ["a"]


def test_undoing_a_reindex_keeps_chunks_the_old_version_shares(store: VectorStore) -> None:
    manifest = manifest_for(store)  # the store's own: SQLite beside it, or on the server
    old = chunks("a", "h1", [(0, 5), (5, 9)])
    store.upsert(old)
    new = chunks("a", "h1", [(0, 5), (5, 7), (7, 9)])  # same text, other chunk sizes
    manifest.begin(entry(new), store.chunk_ids("a"))
    store.upsert(new)
    manifest.recover(store)
    assert sorted(store.chunk_ids("a")) == sorted(c.id for c in old)


def test_the_manifest_file_sits_beside_an_embedded_store_and_survives_reopening(
    tmp_path: Path,
) -> None:
    path = manifest_for(EdgeStore(tmp_path / "docs")).path
    assert path == tmp_path / "docs.manifest.sqlite3"
    assert manifest_for(ServerStore(location=":memory:")).path is None
    assert isinstance(manifest_for(ServerStore(location=":memory:")).rows, ServerManifestRows)
    with Manifest(path) as manifest:
        manifest.set_settings({"model": "m", "chunk_size": 64})
        manifest.begin(entry(chunks("a", "h1", [(0, 5)])), [])
    with Manifest(path) as manifest:
        assert manifest.settings() == {"model": "m", "chunk_size": 64}
        assert [r.doc_id for r in manifest.unfinished()] == ["a"]
        assert manifest.entries() == []


def test_the_refusals_name_the_collection_the_settings_and_the_way_out() -> None:
    stored = {"model": "m", "chunker": "structure", "chunk_size": 64}
    other_size = {**stored, "chunker": "sentences", "chunk_size": 32}
    assert str(settings_error("docs", stored, other_size)) == (
        "collection 'docs' was chunked with chunker='structure', chunk_size=64, not "
        "chunker='sentences', chunk_size=32: use the same settings, another collection, "
        "or re-index it (rag ingest --reindex, or RAG.ingest(..., reindex=True))"
    )
    assert "holds vectors of model 'm', not 'n'" in str(
        settings_error("docs", stored, {**stored, "model": "n"})
    )
    assert collection_settings({**stored, "access": ["user:ann"]}) == stored
