"""The upload area: drop files, ingest them in the background, progress and a line per file."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import streamlit as st

from ingestion.loaders import SUPPORTED_EXTENSIONS
from ingestion.pipeline import FileResult
from rag.access import Principal
from rag.errors import RagError
from rag.protocols import Upload
from rag.uploads import UploadError, check_name
from ui.ingest_jobs import IngestJob, JobView, ingest_jobs
from ui.resources import Workspace
from ui.sidebar import NOTICE, delete_row
from ui.text import md_escape, plural
from ui.uploads import prepare_uploads

ROUND = "upload_round"
"""Session key counting ingests; part of the uploader's key, so each ingest empties it."""
WATCHING = "watching_ingest"
"""Session key set while this session shows a running ingest, to refresh the page at its end."""
POLL_SECONDS = 1.0


def status_line(result: FileResult) -> str:
    """Return a one-line, Markdown-safe status of one file's ingest."""
    name = Path(result.path).name
    if result.status == "failed":
        reason = result.error or "failed"
        if Path(result.path).is_absolute():  # a saved file: its folder says nothing to the user
            reason = reason.replace(result.path, name)
        return f":red[:material/error:] {md_escape(reason)}"
    chunks = f", {plural(result.chunks, 'chunk')}" if result.chunks else ""
    return f":green[:material/check_circle:] {md_escape(name)}: {result.status}{chunks}"


def start_ingest(
    workspace: Workspace,
    job: IngestJob,
    files: Sequence[Upload],
    principal: Principal,
    max_bytes: int,
) -> None:
    """Queue ``files`` as ``principal``'s on the collection's background job (saved there)."""
    accepted, refused = prepare_uploads(files, workspace.uploads, principal, max_bytes)
    job.submit(accepted, refused)


def _checked(name: str) -> str | None:
    try:
        return check_name(name)
    except UploadError:
        return None


def _discard(workspace: Workspace, principal: Principal, name: str) -> None:
    try:
        workspace.discard_upload(principal, name)
    except RagError as e:
        st.session_state[NOTICE] = ("error", f"cannot delete {name}: {e}")
        return
    st.session_state[NOTICE] = ("success", f"Deleted the failed upload {name}")


def render_failed(workspace: Workspace, principal: Principal) -> None:
    """List ``principal``'s failed or interrupted uploads, each with a delete button."""
    failed = workspace.failed_uploads(principal)
    if not failed:
        return
    st.caption(f"Not ingested ({len(failed)}): upload again, or delete")
    for upload in failed:
        what = "interrupted while saving" if upload.state == "interrupted" else "not ingested"
        if upload.stored:
            what += "; an older version is stored"
        delete_row(
            f":orange[:material/warning:] {md_escape(upload.name)}: {what}",
            None,
            key=f"discard:{upload.name}",
            what=f"the failed upload {upload.name}",
            on_click=partial(_discard, workspace, principal, upload.name),
        )


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


def render(workspace: Workspace, principal: Principal, max_bytes: int) -> None:
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
    busy = [f for f in files or [] if _checked(f.name) in pending]
    new = [f for f in files or [] if _checked(f.name) not in pending]
    if busy:
        names = ", ".join(f.name for f in busy)
        st.caption(f"Already being ingested: {md_escape(names)}")
    if new and st.button(f"Ingest {len(new)} file(s)", key="ingest", type="primary"):
        start_ingest(workspace, job, new, principal, max_bytes)
        st.session_state[ROUND] = round_ + 1
        st.rerun()
    running = job.view().running
    st.fragment(_progress, run_every=POLL_SECONDS if running else None)(job)
    render_failed(workspace, principal)
