"""The manifest rows contract on every backend, and a server collection's companion."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from ingestion.manifest import Entry, Manifest, manifest_for
from ingestion.manifest.sqlite import SqliteRows
from rag.protocols import ManifestRows
from rag.stores.server import ServerStore
from rag.stores.server_manifest import ServerManifestRows, manifest_collection
from rag.types import Chunk, ManifestRow

RowsFactory = Callable[[], ManifestRows]


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "server-memory", "server-folder"])
def rows(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RowsFactory]:
    """Make the rows of one backend; a second call sees what the first wrote, where it can."""
    if request.param == "sqlite-file":
        yield lambda: SqliteRows(tmp_path / "docs.manifest.sqlite3")
        return
    if request.param == "sqlite-memory":
        memory = SqliteRows(None)
        yield lambda: memory
        return
    where = {"location": ":memory:"} if request.param == "server-memory" else {"path": tmp_path}
    stores: list[ServerStore] = []

    def make() -> ManifestRows:
        if stores and "path" in where:
            stores.pop().close()  # local mode on disk: one client at a time
        if not stores:
            stores.append(ServerStore(collection="docs", **where))  # type: ignore[arg-type]
            stores[-1].open()
            stores[-1].create_collection(8)  # a companion without its collection is removed
        return stores[-1].manifest_rows()

    yield make
    for store in stores:
        store.close()


def test_rows_read_back_what_was_written_and_say_which_are_unfinished(rows: RowsFactory) -> None:
    first = rows()
    assert first.source("a") is None and first.sources() == [] and first.value("k") is None
    first.put_source(ManifestRow("a", '{"v": 1}', None))
    first.put_source(ManifestRow("b", None, '{"v": 2}', ("x", "y")))
    first.put_source(ManifestRow("a", '{"v": 1}', '{"v": 3}', ("z",)))  # replaces a's row
    first.set_value("settings", {"model": "m", "chunk_size": 64})
    first.set_value("reindexing", False)
    first.drop_source("missing")
    again = rows()
    assert again.source("a") == ManifestRow("a", '{"v": 1}', '{"v": 3}', ("z",))
    assert sorted(r.doc_id for r in again.sources(unfinished=True)) == ["a", "b"]
    again.put_source(ManifestRow("a", '{"v": 3}', None))
    again.drop_source("b")
    assert again.sources() == [ManifestRow("a", '{"v": 3}', None)]
    assert again.sources(unfinished=True) == []
    assert again.value("settings") == {"model": "m", "chunk_size": 64}
    assert again.value("reindexing") is False
    again.put_sources([ManifestRow(f"d{i}", "{}", None) for i in range(1200)])  # over a page
    assert len(again.sources()) == 1201


def _entry(doc_id: str) -> Entry:
    return Entry(doc_id, f"/docs/{doc_id}.txt", "h1", (f"{doc_id}-1",), {"model": "m"})


def test_a_server_collections_manifest_is_kept_on_the_server_beside_it(tmp_path: Path) -> None:
    with ServerStore(path=tmp_path, collection="docs") as store:
        store.create_collection(8)
        manifest = manifest_for(store)
        manifest.set_settings({"model": "m"})
        manifest.begin(_entry("a"), [])
        manifest.commit("a")
        manifest.settle("a")
        manifest.begin(_entry("b"), ["old"])
        assert store.collection_names() == ["docs"]  # the companion is not a user collection
        assert store.client().collection_exists(manifest_collection("docs"))
    with ServerStore(path=tmp_path, collection="docs") as store:
        manifest = manifest_for(store)
        assert manifest.entries() == [_entry("a")]
        assert [r.doc_id for r in manifest.unfinished()] == ["b"]
        assert manifest.settings() == {"model": "m"}


def test_a_companion_whose_collection_was_deleted_is_removed_on_open(tmp_path: Path) -> None:
    with ServerStore(path=tmp_path, collection="docs") as store:
        store.create_collection(8)
        manifest_for(store).adopt(_entry("a"))
        store.client().delete_collection("docs")  # behind LateRAG's back
    with ServerStore(path=tmp_path, collection="docs") as store:
        assert not store.client().collection_exists(manifest_collection("docs"))
        assert manifest_for(store).entries() == []


def test_reads_of_a_collection_never_ingested_create_nothing() -> None:
    with ServerStore(location=":memory:", collection="docs") as store:
        manifest = Manifest(store.manifest_rows())
        assert manifest.entries() == [] and manifest.settings() is None
        assert manifest.recover(store) == 0
        assert isinstance(manifest.rows, ServerManifestRows)
        assert store.client().get_collections().collections == []
        store.create_collection(8)
        vector = np.ones(8, dtype=np.float32)
        store.upsert([Chunk("a", "/a", "h", 0, "t", (0, 1), vector=vector)])
        assert store.collection_names() == ["docs"]
