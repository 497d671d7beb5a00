"""The upload area: drop files, ingest them in the background, progress and a line per file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from ingestion.loaders import SUPPORTED_EXTENSIONS
from ingestion.pipeline import FileResult
from rag.protocols import Upload
from ui.ingest_jobs import IngestJob, JobView, ingest_jobs
from ui.resources import Workspace
from ui.text import md_escape, plural
from ui.uploads import safe_filename, save_uploads, upload_folder

ROUND = "upload_round"
"""Session key counting ingests; part of the uploader's key, so each ingest empties it."""
WATCHING = "watching_ingest"
"""Session key set while this session shows a running ingest, to refresh the page at its end."""
POLL_SECONDS = 1.0


def status_line(result: FileResult) -> str:
    """Return a one-line, Markdown-safe status of one file's ingest."""
    name = Path(result.path).name
    if result.status == "failed":
        reason = (result.error or "failed").replace(result.path, name)
        return f":red[:material/error:] {md_escape(reason)}"
    chunks = f", {plural(result.chunks, 'chunk')}" if result.chunks else ""
    return f":green[:material/check_circle:] {md_escape(name)}: {result.status}{chunks}"


def start_ingest(
    workspace: Workspace, job: IngestJob, files: Sequence[Upload], max_bytes: int
) -> None:
    """Save ``files`` and queue them on the collection's background job."""
    saved, refused = save_uploads(files, upload_folder(workspace.config), max_bytes)
    job.submit(saved, refused)


def _show(view: JobView) -> None:
    done = len(view.results)
    if view.running:
        text = f"Ingesting: {done} of {view.total} files done"
        st.progress(done / view.total if view.total else 0.0, text=text)
        st.caption(f"In progress: {md_escape(', '.join(view.pending_names))}")
        if view.status:
            st.caption(md_escape(view.status))
    for result in view.results:
        st.markdown(status_line(result))


def _progress(job: IngestJob) -> None:
    """The job's progress; at its end, a rerun of the whole page (new documents listed)."""
    view = job.view()
    _show(view)
    if view.running:
        st.session_state[WATCHING] = True
    elif st.session_state.pop(WATCHING, False):
        st.rerun()


def render(workspace: Workspace, max_bytes: int) -> None:
    """Show the uploader, queue what is dropped on request, and the collection's ingest."""
    st.subheader("Add documents")
    job = ingest_jobs().job(workspace)
    round_ = st.session_state.setdefault(ROUND, 0)
    files = st.file_uploader(
        "Drop files here",
        type=[ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS],
        accept_multiple_files=True,
        key=f"uploads:{round_}",
        help=f"{', '.join(SUPPORTED_EXTENSIONS)}; up to {max_bytes // 2**20} MB each.",
    )
    pending = set(job.view().pending_names)
    busy = [f for f in files or [] if safe_filename(f.name) in pending]
    new = [f for f in files or [] if safe_filename(f.name) not in pending]
    if busy:
        names = ", ".join(f.name for f in busy)
        st.caption(f"Already being ingested: {md_escape(names)}")
    if new and st.button(f"Ingest {len(new)} file(s)", key="ingest", type="primary"):
        start_ingest(workspace, job, new, max_bytes)
        st.session_state[ROUND] = round_ + 1
        st.rerun()
    running = job.view().running
    st.fragment(_progress, run_every=POLL_SECONDS if running else None)(job)
