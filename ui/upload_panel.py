"""The upload area: drop files, ingest them with a progress bar and a status line per file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from ingestion.loaders import SUPPORTED_EXTENSIONS
from ingestion.pipeline import FileResult
from rag.errors import RagError
from rag.protocols import Upload
from ui.resources import Workspace
from ui.text import md_escape, plural
from ui.uploads import save_uploads, upload_folder

RESULTS = "ingest_results"
"""Session key of the last ingest's per-file results."""
ROUND = "upload_round"
"""Session key counting ingests; part of the uploader's key, so each ingest empties it."""


def status_line(result: FileResult) -> str:
    """Return a one-line, Markdown-safe status of one file's ingest."""
    name = Path(result.path).name
    if result.status == "failed":
        reason = (result.error or "failed").replace(result.path, name)
        return f":red[:material/error:] {md_escape(reason)}"
    chunks = f", {plural(result.chunks, 'chunk')}" if result.chunks else ""
    return f":green[:material/check_circle:] {md_escape(name)}: {result.status}{chunks}"


def ingest_uploads(
    workspace: Workspace, files: Sequence[Upload], max_bytes: int
) -> list[FileResult]:
    """Save and ingest ``files``, showing progress; every file gets a result, failures too."""
    folder = upload_folder(workspace.config)
    saved, refused = save_uploads(files, folder, max_bytes)
    total = len(files)
    results: list[FileResult] = []
    bar = st.progress(0.0, text=f"Ingesting {total} files…")
    lines = st.container()

    def report(result: FileResult) -> None:
        results.append(result)
        bar.progress(len(results) / total, text=f"{len(results)} of {total} files done")
        lines.markdown(status_line(result))

    def status(line: str) -> None:
        lines.caption(line)

    for result in refused:
        report(result)
    if saved:
        try:
            workspace.ingest(saved, report, on_status=status)
        except RagError as e:
            done = {r.path for r in results}
            for path in saved:
                if str(path) not in done:
                    report(FileResult(str(path), "failed", error=f"{path}: {e}"))
    return results


def render(workspace: Workspace, max_bytes: int) -> None:
    """Show the uploader, ingest what is dropped on request, and the last ingest's results."""
    st.subheader("Add documents")
    round_ = st.session_state.setdefault(ROUND, 0)
    files = st.file_uploader(
        "Drop files here",
        type=[ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS],
        accept_multiple_files=True,
        key=f"uploads:{round_}",
        help=f"{', '.join(SUPPORTED_EXTENSIONS)}; up to {max_bytes // 2**20} MB each.",
    )
    if files and st.button(f"Ingest {len(files)} file(s)", key="ingest", type="primary"):
        st.session_state[RESULTS] = ingest_uploads(workspace, files, max_bytes)
        st.session_state[ROUND] = round_ + 1
        st.rerun()
    for result in st.session_state.get(RESULTS, []):
        st.markdown(status_line(result))
