"""``rag migrate``: an embedded collection copied to a Qdrant server, resumable, verified."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from qdrant_client import QdrantClient

from ingestion.manifest import manifest_for
from rag.cli import run
from rag.config import RAGConfig, RetrievalConfig, StoreConfig
from rag.config_file import load_config
from rag.encoders import TransformerEncoder
from rag.errors import StoreError
from rag.migrate import migrate, state_path
from rag.sdk import RAG
from rag.stores import open_store
from rag.stores.edge import EdgeStore
from rag.stores.server import ServerStore
from rag.types import Chunk

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "docs"
QUERIES = [
    "How many vacation days do new employees get?",
    "How long must a password be?",
    "hotel Tokyo per night",
]
BATCH = 4


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, encoder: TransformerEncoder) -> Path:
    """A store folder (``--store``) holding the sample documents in collection "default"."""
    folder = tmp_path_factory.mktemp("ingested") / "store"
    with RAG(RAGConfig(store=StoreConfig(path=folder)), encoder=encoder) as rag:
        report = rag.ingest([EXAMPLES])
    assert not report.failed
    return folder


@pytest.fixture
def store_dir(ingested: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested store folder."""
    return Path(shutil.copytree(ingested, tmp_path / "store"))


@pytest.fixture
def source(store_dir: Path) -> Iterator[EdgeStore]:
    with EdgeStore(store_dir / "default", collection="default") as store:
        yield store


def everything(store: EdgeStore) -> dict[str, Chunk]:
    return {chunk.id: chunk for batch, _ in store.export(1000) for chunk in batch}


def points(target: ServerStore) -> dict[str, Any]:
    client = target._client
    assert client is not None
    records, _ = client.scroll(target.collection, limit=10_000, with_vectors=True)
    return {str(r.id): r for r in records}


class Interrupted(RuntimeError):
    pass


class Flaky:
    """A target that forwards to a real one and fails on upsert number ``fail_on``."""

    def __init__(self, target: ServerStore, fail_on: int | None = None) -> None:
        self.target = target
        self.fail_on = fail_on
        self.written: list[str] = []
        self.calls = 0

    def create_collection(self, dim: int) -> None:
        self.target.create_collection(dim)

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise Interrupted("connection lost")
        self.target.upsert(chunks)
        self.written.extend(c.id for c in chunks)

    def count(self) -> int:
        return self.target.count()


def test_migration_copies_ids_payloads_and_vectors_and_searches_the_same(
    source: EdgeStore, encoder: TransformerEncoder
) -> None:
    originals = everything(source)
    assert any(c.sparse is not None for c in originals.values())
    with ServerStore(location=":memory:", collection="copy") as target:
        report = migrate(source, target, target_name="memory/copy", batch_size=BATCH)
        assert report.copied == report.source_chunks == report.target_chunks == len(originals)
        assert report.resumed == 0

        copied = points(target)
        assert copied.keys() == originals.keys()
        for point_id, chunk in originals.items():
            stored = copied[point_id]
            assert stored.payload["text"] == chunk.text
            assert stored.payload["meta"] == dict(chunk.metadata)
            assert np.allclose(stored.vector["dense"], chunk.vector, atol=1e-6)
            if chunk.sparse is None:
                assert "sparse" not in stored.vector
            else:
                assert tuple(stored.vector["sparse"].indices) == chunk.sparse.indices
                assert np.allclose(stored.vector["sparse"].values, chunk.sparse.values)
        # the model and chunking settings travel with every chunk
        assert [d.metadata for d in target.documents()] == [d.metadata for d in source.documents()]
        assert "model" in target.documents()[0].metadata

        # dense and score-fused hybrid rank the same; rrf ranks only the top hit surely the same,
        # as the two engines order chunks of equal BM25 score differently below it
        retrievals = {
            "dense": RetrievalConfig(),
            "dbsf": RetrievalConfig(hybrid=True, fusion="dbsf"),
            "rrf": RetrievalConfig(hybrid=True, fusion="rrf"),
        }
        for name, retrieval in retrievals.items():
            config = RAGConfig(retrieval=retrieval)
            here, there = RAG(config, encoder=encoder), RAG(config, encoder=encoder)
            here._store, there._store = source, target
            for query in QUERIES:
                before, after = here.search(query, 5), there.search(query, 5)
                same = 1 if name == "rrf" else 5
                assert [h.chunk.id for h in after][:same] == [h.chunk.id for h in before][:same]
                assert np.allclose(
                    [h.score for h in after][:same], [h.score for h in before][:same]
                )


def test_an_interrupted_migration_resumes_after_the_last_written_batch(
    source: EdgeStore, store_dir: Path
) -> None:
    state = state_path(StoreConfig(path=store_dir))
    total = source.count()
    assert total > 3 * BATCH  # enough batches to stop in the middle
    with ServerStore(location=":memory:", collection="copy") as server:
        flaky = Flaky(server, fail_on=3)
        with pytest.raises(Interrupted):
            migrate(source, flaky, target_name="memory/copy", state_file=state, batch_size=BATCH)
        assert server.count() == 2 * BATCH
        assert json.loads(state.read_text())["copied"] == 2 * BATCH

        again = Flaky(server)
        report = migrate(
            source, again, target_name="memory/copy", state_file=state, batch_size=BATCH
        )
        assert report.resumed == 2 * BATCH
        assert report.copied == len(again.written) == total - 2 * BATCH
        assert not set(again.written) & set(flaky.written)  # nothing written twice
        assert set(points(server)) == set(everything(source))
        assert server.count() == total
        assert not state.exists()


def test_a_state_file_for_another_target_is_not_used(source: EdgeStore, store_dir: Path) -> None:
    state = state_path(StoreConfig(path=store_dir))
    with (
        ServerStore(location=":memory:", collection="first") as first,
        pytest.raises(Interrupted),
    ):
        migrate(source, Flaky(first, 2), target_name="a/first", state_file=state, batch_size=4)
    assert state.exists()
    with ServerStore(location=":memory:", collection="second") as second:
        report = migrate(source, second, target_name="b/second", state_file=state, batch_size=4)
        assert report.resumed == 0 and report.copied == source.count() == second.count()


def test_a_target_holding_other_chunks_fails_the_count_check(source: EdgeStore) -> None:
    with ServerStore(location=":memory:", collection="copy") as target:
        stray = next(iter(everything(source).values()))
        target.create_collection(len(stray.vector))
        target.upsert([Chunk(**{**stray.__dict__, "doc_id": "stray-doc"})])
        with pytest.raises(StoreError, match="already held other chunks"):
            migrate(source, target, target_name="memory/copy")


def test_the_target_gets_the_sources_manifest_so_a_reingest_there_finds_all_unchanged(
    source: EdgeStore, store_dir: Path, tmp_path: Path, encoder: TransformerEncoder
) -> None:
    source_manifest = manifest_for(source)
    entries = source_manifest.entries()
    assert len(entries) == 3
    folder = tmp_path / "server"
    with ServerStore(path=folder, collection="copy") as target:
        migrate(
            source,
            target,
            target_name="local/copy",
            manifests=(source_manifest, manifest_for(target)),
        )
    with RAG(store=ServerStore(path=folder, collection="copy"), encoder=encoder) as rag:
        assert rag.manifest.entries() == entries
        assert rag.manifest.settings() == source_manifest.settings()
        assert rag.store.collection_names() == ["copy"]
        report = rag.ingest([EXAMPLES])
        assert report.count("unchanged") == 3 and rag.store.count() == source.count()


def test_an_empty_source_is_refused(tmp_path: Path) -> None:
    with (
        EdgeStore(tmp_path / "nothing", collection="nothing") as empty,
        ServerStore(location=":memory:") as target,
        pytest.raises(StoreError, match="nothing to migrate"),
    ):
        migrate(empty, target, target_name="memory/default")


class RecordingClient(QdrantClient):
    """An in-memory client standing in for a server: records collection settings, stays open."""

    made: ClassVar[list[RecordingClient]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(location=":memory:")
        self.url = kwargs.get("url")
        self.created: list[dict[str, Any]] = []
        RecordingClient.made.append(self)

    def create_collection(self, *args: Any, **kwargs: Any) -> bool:
        self.created.append(kwargs)
        return super().create_collection(*args, **kwargs)

    def close(self, **kwargs: Any) -> None:
        """Keep the data for the test to read."""


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingClient]:
    RecordingClient.made = []
    monkeypatch.setattr("rag.stores.server.QdrantClient", RecordingClient)
    return RecordingClient


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect")
def test_server_collections_get_shards_and_replicas_from_settings(
    recording: type[RecordingClient], tmp_path: Path
) -> None:
    settings = tmp_path / "laterag.toml"
    settings.write_text('[store]\nurl = "http://qdrant-0:6333"\nreplication = 2\n')
    env = {"LATERAG_SHARDS": "6", "LATERAG_WRITE_CONSISTENCY": "2"}
    config = load_config(settings, env=env)
    store = open_store(config.store)
    try:
        store.create_collection(8)
    finally:
        store.close()
    (client,) = recording.made
    assert client.url == "http://qdrant-0:6333"
    (created,) = client.created
    assert created["shard_number"] == 6
    assert created["replication_factor"] == 2
    assert created["write_consistency_factor"] == 2


def test_unset_sharding_leaves_the_server_defaults(recording: type[RecordingClient]) -> None:
    with ServerStore(location=":memory:") as store:
        store.create_collection(8)
    assert StoreConfig().shards is None and StoreConfig().replication is None
    (client,) = recording.made
    (created,) = client.created
    assert created["shard_number"] is None and created["replication_factor"] is None


def test_write_consistency_above_replication_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds the replication factor"):
        StoreConfig(replication=2, write_consistency=3)


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect")
def test_cli_migrates_with_progress_and_summary_then_a_rerun_is_idempotent(
    capsys: pytest.CaptureFixture[str], recording: type[RecordingClient], store_dir: Path
) -> None:
    args = ["migrate", "--store", str(store_dir), "--to-url", "http://qdrant-0:6333/"]
    args += ["--to-collection", "handbooks", "--batch-size", "5", "--shards", "3"]
    args += ["--quantization", "scalar"]
    code = run(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    with EdgeStore(store_dir / "default") as source:
        total = source.count()
        ids = set(everything(source))
    assert f"{total} chunks copied" in out
    assert "http://qdrant-0:6333/collections/handbooks" in out
    assert "migrate" in err and f"{total}/{total}" in err  # the tqdm bar on stderr
    client = recording.made[0]
    assert client.url == "http://qdrant-0:6333/"
    assert client.created[0]["shard_number"] == 3
    assert client.created[0]["vectors_config"]["dense"].quantization_config is not None
    records, _ = client.scroll("handbooks", limit=10_000)
    assert {str(r.id) for r in records} == ids
    rows, _ = client.scroll("handbooks~manifest", limit=100)  # the sources' rows and settings
    assert sorted(r.payload["kind"] for r in rows if r.payload) == ["source"] * 3 + ["value"]

    code = run([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["copied"] == summary["chunks"] == total and summary["resumed"] == 0


def test_cli_refuses_a_server_source(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["migrate", "--qdrant-url", "http://a:6333", "--to-url", "http://b:6333"]
    code = run([*args, "--store", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 1 and "migrate copies the embedded store" in err
