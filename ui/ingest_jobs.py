"""App ingests as background jobs: one per collection, on its own thread, outside any script run.

A Streamlit rerun (a question, a click) stops the script run it interrupts; an ingest run
inside it would stop with it. A job lives in the process (``st.cache_resource``), so it
finishes whatever the sessions do meanwhile, and every session can see its progress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ingestion.pipeline import FileResult
from ui.resources import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobView:
    """A job as it stands: each file's result so far, how many files in all, and any status."""

    results: tuple[FileResult, ...]
    total: int
    pending: tuple[Path, ...]
    status: str | None

    @property
    def pending_names(self) -> list[str]:
        """The file names still to be ingested."""
        return [p.name for p in self.pending]

    @property
    def running(self) -> bool:
        """True while files are still to be ingested."""
        return bool(self.pending)


class IngestJob:
    """One collection's queue of saved uploads, ingested batch by batch on a thread."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()
        self._queue: list[tuple[Path, bytes]] = []
        self._pending: list[Path] = []
        self._results: list[FileResult] = []
        self._total = 0
        self._status: str | None = None
        self._thread: threading.Thread | None = None
        self._working = False  # from a thread's start until it finds the queue empty

    def view(self) -> JobView:
        """A snapshot of the job for the page."""
        with self._lock:
            return JobView(tuple(self._results), self._total, tuple(self._pending), self._status)

    def submit(self, files: Sequence[tuple[Path, bytes]], refused: Sequence[FileResult]) -> None:
        """Queue (path, bytes) uploads to save and ingest, and record ``refused``.

        A path already pending is not queued twice. A job that had finished starts afresh: its
        earlier results are dropped.
        """
        with self._lock:
            if not self._pending:
                self._results, self._total, self._status = [], 0, None
            fresh = [(p, data) for p, data in files if p not in self._pending]
            self._queue.extend(fresh)
            self._pending.extend(p for p, _ in fresh)
            self._results.extend(refused)
            self._total += len(fresh) + len(refused)
            if fresh and not self._working:
                self._working = True
                self._thread = threading.Thread(target=self._run, name="app-ingest", daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _record(self, result: FileResult) -> None:
        with self._lock:
            self._results.append(result)
            self._pending = [p for p in self._pending if str(p) != result.path]

    def _say(self, line: str) -> None:
        with self._lock:
            self._status = line

    def _run(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._working = False
                    return
            try:
                self.workspace.ingest_uploads(batch, self._record, on_status=self._say)
            except Exception as e:  # the page must hear of any failure, not a dead thread
                logger.exception("app ingest of %d files failed", len(batch))
                self._fail_rest([p for p, _ in batch], e)
            self._fail_rest([p for p, _ in batch], None)

    def _fail_rest(self, batch: Sequence[Path], error: Exception | None) -> None:
        """Give every file of ``batch`` still pending a failed result."""
        with self._lock:
            left = [p for p in batch if p in self._pending]
        for path in left:
            reason = f"{path.name}: {error}" if error else f"{path.name}: no result from the ingest"
            self._record(FileResult(str(path), "failed", error=reason))


class IngestJobs:
    """The process's ingest jobs, one per collection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, IngestJob] = {}

    def job(self, workspace: Workspace) -> IngestJob:
        """The job of ``workspace``'s collection, made on first use."""
        store = workspace.config
        key = f"{store.url or store.path.resolve()}::{store.collection}"
        with self._lock:
            job = self._jobs.get(key)
            if job is None or (job.workspace is not workspace and not job.view().running):
                job = self._jobs[key] = IngestJob(workspace)
            return job


@st.cache_resource(show_spinner=False)
def ingest_jobs() -> IngestJobs:
    """The jobs of this process, shared by every session."""
    return IngestJobs()
