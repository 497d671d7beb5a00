"""A server collection's ingest killed at any moment and run again ends like a clean run.

qdrant-client's local mode in a folder stands in for the server: the manifest lives in the
companion collection there, not in the killed process. A real subprocess is SIGKILLed.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from killed_ingest import CHUNKING, Ingest, ingest_and_snapshot, make_corpus

from ingestion.manifest import Manifest
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


def test_a_server_ingest_killed_at_any_point_and_rerun_ends_like_a_clean_run(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    with opened(tmp_path / "clean", encoder) as rag:
        clean, clean_entries = ingest_and_snapshot(rag, corpus)
    assert len(clean_entries) == 7 and len(clean[1]) > 50
    seed = random.randrange(1000)
    delay = random.Random(seed).uniform(0.0, 0.4)

    def after_first_file(ingest: Ingest) -> bool:
        return ingest.wait_for("ingested")

    def in_the_middle_of_the_manual(ingest: Ingest) -> bool:
        return ingest.wait_for("pending", contains="manual.txt")

    def at_a_random_delay(ingest: Ingest) -> bool:
        ready = ingest.wait_for("ingested", 2)
        time.sleep(delay)
        return ready

    kill_points: Sequence[Callable[[Ingest], bool]] = (
        after_first_file,
        in_the_middle_of_the_manual,
        at_a_random_delay,
    )
    whole = {e.doc_id: sorted(e.chunk_ids) for e in clean_entries}
    manual = document_id(str((corpus / "manual.txt").resolve()))
    for when in kill_points:
        for attempt in range(6):  # the manual's write is short: retry until a kill lands in it
            folder = tmp_path / f"{when.__name__}-{attempt}"
            ingest = server_ingest(corpus, folder)
            try:
                reached = when(ingest)
                if reached and ingest.process.poll() is None:
                    ingest.kill()
            finally:
                ingest.stop()
            with ServerStore(path=folder, collection=COLLECTION) as left:  # as the kill left it
                pending = [r.pending for r in Manifest(left.manifest_rows()).unfinished()]
            caught = any(e is not None and e.path.endswith("manual.txt") for e in pending)
            with opened(folder, encoder) as rag:  # opening recovers, before anything is read
                for doc_id, ids in whole.items():
                    assert sorted(rag.store.chunk_ids(doc_id)) in ([], ids), when.__name__
                assert rag.manifest.unfinished() == []
                if caught:
                    assert rag.store.chunk_ids(manual) == []
                again, entries = ingest_and_snapshot(rag, corpus)
            assert again == clean, f"killed {when.__name__} (seed {seed})"
            assert entries == clean_entries, f"killed {when.__name__} (seed {seed})"
            if reached and (caught or when is not in_the_middle_of_the_manual):
                break
        else:
            pytest.fail(f"six kills all missed {when.__name__}")
