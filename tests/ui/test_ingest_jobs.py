"""The app's background ingest job: batches, queueing meanwhile, failures as results."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from ingestion.pipeline import FileResult, IngestReport
from rag.errors import StoreError
from ui.ingest_jobs import IngestJob
from ui.resources import Workspace

Report = Callable[[FileResult], None]
Say = Callable[[str], None]


class FakeWorkspace:
    """Saves and ingests by reporting each file ingested, after ``gate`` opens; ``fail`` raises."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.gate = threading.Event()
        self.batches: list[list[str]] = []
        self.fail = fail

    def ingest_uploads(
        self, files: Sequence[tuple[Path, bytes]], on_result: Report, on_status: Say
    ) -> IngestReport:
        assert self.gate.wait(30)
        paths = [path for path, _ in files]
        self.batches.append([p.name for p in paths])
        on_status("building the search index")
        if self.fail is not None:
            on_result(FileResult(str(paths[0]), "ingested", chunks=2))
            raise self.fail
        for path in paths:
            on_result(FileResult(str(path), "ingested", chunks=1))
        return IngestReport((), 0.0)


def job_of(workspace: FakeWorkspace) -> IngestJob:
    return IngestJob(cast(Workspace, workspace))


def paths(tmp_path: Path, *names: str) -> list[tuple[Path, bytes]]:
    """Uploads to queue: where each is saved, its bytes."""
    return [(tmp_path / name, b"# text") for name in names]


def test_files_dropped_meanwhile_join_the_queue_once(tmp_path: Path) -> None:
    workspace = FakeWorkspace()
    job = job_of(workspace)
    refused = FileResult("x.exe", "failed", error="x.exe: unsupported file type")
    job.submit(paths(tmp_path, "a.md", "b.md"), [refused])
    job.submit(paths(tmp_path, "b.md", "c.md"), [])  # b is pending: not queued twice
    view = job.view()
    assert view.running and view.total == 4 and view.pending_names == ["a.md", "b.md", "c.md"]
    workspace.gate.set()
    assert job.wait(30)
    view = job.view()
    assert not view.running and view.status == "building the search index"
    assert [Path(r.path).name for r in view.results] == ["x.exe", "a.md", "b.md", "c.md"]
    assert sorted(sum(workspace.batches, [])) == ["a.md", "b.md", "c.md"]
    job.submit(paths(tmp_path, "d.md"), [])  # a finished job starts afresh
    assert job.wait(30)
    assert [Path(r.path).name for r in job.view().results] == ["d.md"]


def test_an_ingest_that_raises_fails_each_file_left_with_the_reason(tmp_path: Path) -> None:
    workspace = FakeWorkspace(fail=StoreError("the disk is full"))
    workspace.gate.set()
    job = job_of(workspace)
    job.submit(paths(tmp_path, "a.md", "b.md", "c.md"), [])
    assert job.wait(30)
    results: list[Any] = [(Path(r.path).name, r.status, r.error) for r in job.view().results]
    assert results == [
        ("a.md", "ingested", None),
        ("b.md", "failed", "b.md: the disk is full"),
        ("c.md", "failed", "c.md: the disk is full"),
    ]
    assert not job.view().running
