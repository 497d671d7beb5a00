"""The manifest beside the store: what it records, and the settings it holds a collection to."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from ingestion.manifest import Manifest, manifest_for
from rag import RAG, ChunkingConfig, ConfigError, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder

pytestmark = [pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


def config(tmp_path: Path, chunk_size: int = 32) -> RAGConfig:
    return RAGConfig(
        store=StoreConfig(path=tmp_path / "store", collection="docs"),
        chunking=ChunkingConfig(chunk_size=chunk_size),
    )


def test_the_manifest_records_each_source_its_chunks_and_the_settings(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    with RAG(config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs])
        stored = {info.source: info for info in rag.documents()}
        entries = rag.manifest.entries()
        assert [e.path for e in entries] == sorted(stored)
        for entry in entries:
            info = stored[entry.path]
            assert entry.doc_id == info.doc_id
            assert entry.content_hash == info.content_hash
            assert sorted(entry.chunk_ids) == sorted(rag.store.chunk_ids(info.doc_id))
            assert entry.model == encoder.name
            assert entry.settings["chunk_size"] == 32
            assert entry.settings["chunking"] == ChunkingConfig().mode
        settings = rag.manifest.settings()
        assert settings is not None
        assert settings["model"] == encoder.name and settings["chunk_size"] == 32
    # It is a file beside the collection's folder, readable after the store is closed.
    path = tmp_path / "store" / "docs.manifest.sqlite3"
    assert path.is_file()
    with Manifest(path) as manifest:
        assert [e.path for e in manifest.entries()] == sorted(stored)
        assert manifest.unfinished() == []


def test_reading_a_manifest_that_is_not_there_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "docs.manifest.sqlite3"
    with Manifest(path) as manifest:
        assert manifest.unfinished() == [] and manifest.entries() == []
        assert manifest.settings() is None and manifest.get("x") is None
    assert not (tmp_path / "typo").exists()


def test_a_chunking_change_is_refused_and_a_reindex_rechunks_every_document(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    with RAG(config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs])
        before = {e.doc_id: e.chunk_ids for e in rag.manifest.entries()}
    with RAG(config(tmp_path, chunk_size=128), encoder=encoder) as rag:
        with pytest.raises(ConfigError) as refused:
            rag.ingest([docs / "handbook.md"])
        assert str(refused.value) == (
            "collection 'docs' was chunked with chunk_size=32, not chunk_size=128: use the "
            "same settings, another collection, or re-index it (rag ingest --reindex, "
            "or RAG.ingest(..., reindex=True))"
        )
        assert {e.doc_id: e.chunk_ids for e in rag.manifest.entries()} == before
        # A re-index of two of the three files drops the third, still chunked the old way.
        report = rag.ingest([docs / "handbook.md", docs / "security.html"], reindex=True)
        assert report.count("updated") == 2
        documents = rag.documents()
        assert sorted(Path(d.source).name for d in documents) == ["handbook.md", "security.html"]
        assert all(d.metadata["chunk_size"] == 128 for d in documents)
        assert rag.store.count() == sum(d.chunks for d in documents)
        assert sorted(Path(e.path).name for e in rag.manifest.entries()) == [
            "handbook.md",
            "security.html",
        ]
        assert rag.manifest.settings()["chunk_size"] == 128  # type: ignore[index]
        assert "18 days" in rag.ask("How many vacation days do new employees get?").text
    # The collection now holds the new settings, and a plain ingest with them is welcome.
    with RAG(config(tmp_path, chunk_size=128), encoder=encoder) as rag:
        report = rag.ingest([docs])
        assert (report.count("unchanged"), report.count("ingested")) == (2, 1)


def test_a_model_change_is_refused(tmp_path: Path, docs: Path, encoder: TransformerEncoder) -> None:
    with RAG(config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs / "handbook.md"])
    other = copy.copy(encoder)  # the bundled model under another name: a different model
    other.name = "someone/other-model"
    with RAG(config(tmp_path), encoder=other) as rag:
        with pytest.raises(ConfigError) as refused:
            rag.ingest([docs / "travel-policy.txt"])
        assert str(refused.value) == (
            f"collection 'docs' holds vectors of model {encoder.name!r}, not "
            "'someone/other-model': use another collection, the same model, or re-index it "
            "(rag ingest --reindex, or RAG.ingest(..., reindex=True))"
        )
        assert [Path(d.source).name for d in rag.documents()] == ["handbook.md"]
        # Same-sized vectors: a re-index may move the collection to the other model.
        rag.ingest([docs / "handbook.md"], reindex=True)
        assert [d.metadata["model"] for d in rag.documents()] == ["someone/other-model"]


def test_an_interrupted_reindex_must_be_finished_with_reindex(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    with RAG(config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs])
    with RAG(config(tmp_path, chunk_size=128), encoder=encoder) as rag:
        rag.ingest([docs / "handbook.md", docs / "nowhere.md"], reindex=True)
        assert len(rag.documents()) == 3  # a missing path: nothing is dropped yet
        with pytest.raises(ConfigError, match="re-indexing collection 'docs' was interrupted"):
            rag.ingest([docs])
        report = rag.ingest([docs], reindex=True)
        assert (report.count("unchanged"), report.count("updated")) == (1, 2)
        assert {d.metadata["chunk_size"] for d in rag.documents()} == {128}
        assert not rag.manifest.reindexing()


def test_an_empty_collection_takes_any_settings(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    with RAG(config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs / "handbook.md"])
        assert rag.delete(str(docs / "handbook.md")) > 0
        assert rag.manifest.entries() == []
    with RAG(config(tmp_path, chunk_size=128), encoder=encoder) as rag:
        assert rag.ingest([docs / "handbook.md"]).count("ingested") == 1
        assert rag.manifest.settings()["chunk_size"] == 128  # type: ignore[index]


def test_a_collection_without_a_manifest_is_adopted_without_reembedding(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    with RAG(config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs])
        before = rag.manifest.entries()
    (tmp_path / "store" / "docs.manifest.sqlite3").unlink()
    with RAG(config(tmp_path), encoder=encoder) as rag:
        assert rag.ingest([docs]).count("unchanged") == 3
        assert rag.manifest.entries() == before
    (tmp_path / "store" / "docs.manifest.sqlite3").unlink()
    with (
        RAG(config(tmp_path, chunk_size=128), encoder=encoder) as rag,
        pytest.raises(ConfigError, match="chunk_size=32, not chunk_size=128"),
    ):
        rag.ingest([docs])


def test_a_server_collection_keeps_its_manifest_for_the_session(
    docs: Path, encoder: TransformerEncoder
) -> None:
    from rag.stores.server import ServerStore

    store = ServerStore(location=":memory:")
    with RAG(encoder=encoder, store=store) as rag:
        assert rag.ingest([docs]).count("ingested") == 3
        assert rag.manifest.path is None and len(rag.manifest.entries()) == 3
        assert rag.ingest([docs]).count("unchanged") == 3
        shutil.copy(docs / "handbook.md", docs / "copy.md")
        assert rag.ingest([docs]).count("ingested") == 1
        assert manifest_for(store).path is None
