"""Helpers of the kill tests: a corpus, an ingest subprocess read line by line, snapshots."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from ingestion.manifest import Entry
from rag import RAG, ChunkingConfig, RAGConfig, StoreConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "docs"
CHUNKING = ChunkingConfig(chunk_size=32)
Snapshot = tuple[list[tuple[str, str, str]], list[str]]


def make_corpus(folder: Path) -> Path:
    """The sample docs, three short notes and one long manual of many chunks."""
    folder.mkdir()
    for doc in EXAMPLES.iterdir():
        (folder / doc.name).write_bytes(doc.read_bytes())
    for n in range(1, 4):
        (folder / f"notes-{n}.txt").write_text(
            f"Meeting note {n}. The team agreed on item {n * 7} of the plan. "
            f"Follow-up owner is person {n}; the deadline is week {n + 10}.\n"
        )
    lines = [
        f"Section {i}: the machine part {i} must be checked every {i % 9 + 1} days "
        f"and replaced after {i * 13} hours of use."
        for i in range(1, 201)
    ]
    (folder / "manual.txt").write_text("\n".join(lines) + "\n")
    return folder


def rag_config(store: Path) -> RAGConfig:
    return RAGConfig(store=StoreConfig(path=store, collection="docs"), chunking=CHUNKING)


def snapshot(rag: RAG) -> Snapshot:
    """Every stored chunk as (id, source, text) and every point id, both sorted."""
    store = rag.store
    total = store.count()
    hits = store.search(np.ones(rag.encoder.dim, dtype=np.float32), k=total + 10)
    chunks = sorted((h.chunk.id, h.chunk.source, h.chunk.text) for h in hits)
    ids = sorted(i for doc in rag.documents() for i in store.chunk_ids(doc.doc_id))
    assert len(chunks) == len(ids) == total
    return chunks, ids


def ingest_and_snapshot(rag: RAG, corpus: Path) -> tuple[Snapshot, list[Entry]]:
    """Ingest ``corpus`` whole and return what the collection and its manifest then hold."""
    report = rag.ingest([corpus])
    assert not report.failed
    return snapshot(rag), list(rag.manifest.entries())


class Ingest:
    """An ingest subprocess, with its stderr lines readable as they come."""

    def __init__(self, command: list[str]) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(
        self, prefix: str, count: int = 1, timeout: float = 300, *, contains: str = ""
    ) -> bool:
        """Return True once ``count`` lines started with ``prefix`` (and held ``contains``).

        False if the run ended first.
        """
        seen, deadline = 0, time.monotonic() + timeout
        while seen < count:
            try:
                line = self.lines.get(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    return False
                assert time.monotonic() < deadline, f"no {prefix!r} line in {timeout} s"
                continue
            # tqdm redraws its bar with carriage returns on the same line as the result
            parts = line.split("\r")
            seen += any(p.lstrip().startswith(prefix) and contains in p for p in parts)
        return True

    def wait_for_lines(self, count: int, timeout: float = 300) -> None:
        """Return once ``count`` files have been reported ingested."""
        assert self.wait_for("ingested", count, timeout), "the ingest ended early"

    def kill(self) -> None:
        """SIGKILL the ingest; fail if it had already finished."""
        self.process.send_signal(signal.SIGKILL)
        code = self.process.wait(timeout=60)
        assert code == -signal.SIGKILL, "the ingest finished before it could be killed"

    def stop(self) -> None:
        """Make sure the process is gone."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
