"""An ingest killed at any moment and run again ends exactly like a clean run.

The kill test runs the real ``rag ingest`` in a subprocess and SIGKILLs it at points it
observes from outside (a progress line, a pending row in the manifest, a random delay).
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from killed_ingest import CHUNKING, Ingest, ingest_and_snapshot, make_corpus, rag_config

from ingestion.chunk_builder import ChunkBuilder
from ingestion.manifest import manifest_for
from ingestion.pipeline import Ingestor
from rag import RAG
from rag.encoders import TransformerEncoder
from rag.errors import StoreError
from rag.stores.edge import EdgeStore
from rag.types import Chunk, document_id

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def rag_ingest(corpus: Path, store: Path) -> Ingest:
    """The real ``rag ingest`` of ``corpus`` into the embedded store at ``store``."""
    command = [sys.executable, "-m", "rag.cli", "ingest", str(corpus)]
    command += ["--store", str(store), "--collection", "docs", "--chunk-size", "32"]
    return Ingest(command)


def clean_run(store: Path, corpus: Path, encoder: TransformerEncoder) -> tuple[Any, list[Any]]:
    with RAG(rag_config(store), encoder=encoder) as rag:
        return ingest_and_snapshot(rag, corpus)


def pending_paths(manifest: Path) -> list[str]:
    """The sources the manifest shows as being written right now."""
    try:
        with sqlite3.connect(f"file:{manifest}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT pending FROM sources WHERE pending IS NOT NULL")
            return [str(row[0]) for row in rows]
    except sqlite3.Error:
        return []  # not created yet, or busy


def wait_for_pending(manifest: Path, name: str, ingest: Ingest, timeout: float = 300) -> None:
    """Return once ``name`` is being written, or when the ingest ended without that being seen."""
    deadline = time.monotonic() + timeout
    while not any(name in row for row in pending_paths(manifest)):
        if ingest.process.poll() is not None:
            return  # the write was too quick to see: the caller tries again
        assert time.monotonic() < deadline
        time.sleep(0.002)


def test_an_ingest_killed_at_any_point_and_rerun_ends_like_a_clean_run(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    clean, clean_entries = clean_run(tmp_path / "clean", corpus, encoder)
    assert len(clean_entries) == 7 and len(clean[1]) > 50

    seed = random.randrange(1000)
    delay = random.Random(seed).uniform(0.0, 0.4)

    def after_first_file(ingest: Ingest, store: Path) -> None:
        ingest.wait_for_lines(1)

    def in_the_middle_of_the_manual(ingest: Ingest, store: Path) -> None:
        wait_for_pending(store / "docs.manifest.sqlite3", "manual.txt", ingest)

    def at_a_random_delay(ingest: Ingest, store: Path) -> None:
        ingest.wait_for_lines(2)
        time.sleep(delay)

    kill_points: Sequence[Callable[[Ingest, Path], None]] = (
        after_first_file,
        in_the_middle_of_the_manual,
        at_a_random_delay,
    )
    whole = {e.doc_id: sorted(e.chunk_ids) for e in clean_entries}
    manual = document_id(str((corpus / "manual.txt").resolve()))
    for when in kill_points:
        # The manual's write takes milliseconds: retry until the kill lands inside it.
        for attempt in range(6):
            store = tmp_path / f"{when.__name__}-{attempt}"
            ingest = rag_ingest(corpus, store)
            try:
                when(ingest, store)
                if when is in_the_middle_of_the_manual and ingest.process.poll() is not None:
                    continue  # it finished before the poll saw the manual pending
                ingest.kill()
            finally:
                ingest.stop()
            caught = any("manual.txt" in p for p in pending_paths(store / "docs.manifest.sqlite3"))
            with RAG(rag_config(store), encoder=encoder) as rag:
                # Opening recovers: every document is whole or absent, none half visible.
                for doc_id, ids in whole.items():
                    assert sorted(rag.store.chunk_ids(doc_id)) in ([], ids), when.__name__
                assert rag.manifest.unfinished() == []
                if caught:
                    assert rag.store.chunk_ids(manual) == []
            again, entries = clean_run(store, corpus, encoder)
            assert again == clean, f"killed {when.__name__} (seed {seed})"
            assert entries == clean_entries, f"killed {when.__name__} (seed {seed})"
            if caught or when is not in_the_middle_of_the_manual:
                break
        else:
            pytest.fail("six kills all missed the manual's write")


class FailingStore:
    """An embedded store whose writes fail on demand, like a full disk or a lost server."""

    def __init__(self, store: EdgeStore, *, fail_upsert: bool, fail_delete: bool) -> None:
        self._store = store
        self.fail_upsert = fail_upsert
        self.fail_delete = fail_delete

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        self._store.upsert(chunks)
        if self.fail_upsert:
            raise StoreError("no space left on device")

    def delete_points(self, ids: Sequence[str]) -> None:
        if self.fail_delete:
            raise StoreError("no space left on device")
        self._store.delete_points(ids)


def texts_of(rag: RAG, doc_id: str) -> set[str]:
    hits = rag.store.search(np.ones(rag.encoder.dim, dtype=np.float32), k=1000)
    return {h.chunk.text for h in hits if h.chunk.doc_id == doc_id}


@pytest.mark.parametrize("undo_fails", [False, True], ids=["undone-at-once", "undone-on-open"])
def test_an_edit_interrupted_mid_swap_leaves_the_old_version_whole(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder, undo_fails: bool
) -> None:
    handbook = docs / "handbook.md"
    doc_id = document_id(str(handbook.resolve()))
    with RAG(rag_config(tmp_path), encoder=encoder) as rag:
        rag.ingest([docs])
        old_texts = texts_of(rag, doc_id)
        old_ids = rag.store.chunk_ids(doc_id)
    handbook.write_text(handbook.read_text().replace("18 days", "25 days"))

    folder = EdgeStore(tmp_path / "docs", collection="docs")
    with folder:
        failing = FailingStore(folder, fail_upsert=True, fail_delete=undo_fails)
        builder = ChunkBuilder(encoder, CHUNKING)
        ingestor = Ingestor(builder, failing, manifest_for(folder))  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="no space left"):
            ingestor.ingest([handbook])
        left = [r.doc_id for r in ingestor.manifest.unfinished()]
        assert left == ([doc_id] if undo_fails else [])
        ingestor.manifest.close()

    with RAG(rag_config(tmp_path), encoder=encoder) as rag:
        assert texts_of(rag, doc_id) == old_texts
        assert sorted(rag.store.chunk_ids(doc_id)) == sorted(old_ids)
        assert rag.manifest.unfinished() == []
        assert "18 days" in rag.ask("How many vacation days do new employees get?").text
        report = rag.ingest([docs])
        assert (report.count("updated"), report.count("unchanged")) == (1, 2)
        assert "25 days" in rag.ask("How many vacation days do new employees get?").text
        assert not set(old_ids) & set(rag.store.chunk_ids(doc_id))


def test_a_committed_swap_whose_old_chunks_remain_is_finished_on_open(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    handbook = docs / "handbook.md"
    doc_id = document_id(str(handbook.resolve()))
    with RAG(rag_config(tmp_path), encoder=encoder) as rag:
        rag.ingest([handbook])
        old_ids = rag.store.chunk_ids(doc_id)
    handbook.write_text(handbook.read_text().replace("18 days", "25 days"))
    folder = EdgeStore(tmp_path / "docs", collection="docs")
    with folder:
        failing = FailingStore(folder, fail_upsert=False, fail_delete=True)
        ingestor = Ingestor(ChunkBuilder(encoder, CHUNKING), failing, manifest_for(folder))  # type: ignore[arg-type]
        with pytest.raises(StoreError):
            ingestor.ingest([handbook])
        new_ids = ingestor.manifest.entries()[0].chunk_ids
        ingestor.manifest.close()
    with RAG(rag_config(tmp_path), encoder=encoder) as rag:
        assert sorted(rag.store.chunk_ids(doc_id)) == sorted(new_ids)
        assert not set(old_ids) & set(new_ids)
        assert rag.ingest([handbook]).count("unchanged") == 1
