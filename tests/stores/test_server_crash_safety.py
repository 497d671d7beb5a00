"""A server collection's ingest killed at any moment and run again ends like a clean run.

qdrant-client's local mode in a folder stands in for the server: the manifest lives in the
companion collection there, not in the killed process. A real subprocess is SIGKILLed.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from killed_ingest import CHUNKING, Ingest, Snapshot, ingest_and_snapshot, make_corpus

from ingestion.manifest import Entry, Manifest
from rag import RAG, RAGConfig
from rag.encoders import TransformerEncoder
from rag.stores.server import ServerStore
from rag.types import document_id

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SCRIPT = Path(__file__).with_name("server_ingest.py")


COLLECTION = "docs"


def opened(folder: Path, encoder: TransformerEncoder) -> RAG:
    store = ServerStore(path=folder, collection=COLLECTION)
    return RAG(RAGConfig(chunking=CHUNKING), encoder=encoder, store=store)


def server_ingest(corpus: Path, folder: Path) -> Ingest:
    size = str(CHUNKING.chunk_size)
    return Ingest([sys.executable, str(SCRIPT), str(corpus), str(folder), COLLECTION, size])


@pytest.fixture(scope="module")
def clean(
    tmp_path_factory: pytest.TempPathFactory, encoder: TransformerEncoder
) -> tuple[Path, Snapshot, list[Entry]]:
    """The corpus, and what a clean server ingest of it leaves."""
    corpus = make_corpus(tmp_path_factory.mktemp("server") / "corpus")
    with opened(corpus.parent / "clean", encoder) as rag:
        snapshot, entries = ingest_and_snapshot(rag, corpus)
    assert len(entries) == 7 and len(snapshot[1]) > 50
    return corpus, snapshot, entries


DELAY = random.Random().uniform(0.0, 0.4)


def _two_files_and_a_delay(ingest: Ingest) -> bool:
    reached = ingest.wait_for("ingested", 2)
    time.sleep(DELAY)
    return reached


KILL_AT: dict[str, Callable[[Ingest], bool]] = {
    "after-the-first-file": lambda ingest: ingest.wait_for("ingested"),
    "in-the-middle-of-the-manual": lambda ingest: ingest.wait_for("pending", contains="manual"),
    "at-a-random-delay": _two_files_and_a_delay,
}


@pytest.mark.parametrize("when", list(KILL_AT))
def test_a_server_ingest_killed_and_rerun_ends_like_a_clean_run(
    tmp_path: Path,
    encoder: TransformerEncoder,
    clean: tuple[Path, Snapshot, list[Entry]],
    when: str,
) -> None:
    corpus, snapshot, entries = clean
    manual = document_id(str((corpus / "manual.txt").resolve()))
    for attempt in range(6):  # the manual's write is short: retry until a kill lands in it
        folder = tmp_path / str(attempt)
        ingest = server_ingest(corpus, folder)
        try:
            reached = KILL_AT[when](ingest)
            if reached and ingest.process.poll() is None:
                ingest.kill()
        finally:
            ingest.stop()
        with ServerStore(path=folder, collection=COLLECTION) as left:  # as the kill left it
            pending = [r.pending for r in Manifest(left.manifest_rows()).unfinished()]
        caught = any(e is not None and e.path.endswith("manual.txt") for e in pending)
        with opened(folder, encoder) as rag:  # opening recovers, before anything is read
            for entry in entries:  # every document whole or absent, none half visible
                assert sorted(rag.store.chunk_ids(entry.doc_id)) in ([], sorted(entry.chunk_ids))
            assert rag.manifest.unfinished() == []
            if caught:
                assert rag.store.chunk_ids(manual) == []
            again = ingest_and_snapshot(rag, corpus)
        assert again == (snapshot, entries), f"killed {when} (delay {DELAY:.2f} s)"
        if reached and (caught or when != "in-the-middle-of-the-manual"):
            return
    pytest.fail(f"six kills all missed: {when}")
