"""The FastAPI app: OpenAI-compatible chat, search, upload-and-ingest, delete, health."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from rag.access import ANONYMOUS, Access, Principal
from rag.api import uploads
from rag.api.errors import add_error_handlers
from rag.api.limits import JsonBodyLimit
from rag.api.openai_compat import chat_router
from rag.api.schemas import SearchRequest
from rag.api.state import DEFAULT_MAX_UPLOAD_BYTES, ApiState
from rag.errors import ConfigError
from rag.sdk import RAG
from rag.serialize import document_json, hit_json, ingest_json
from rag.types import document_id
from rag.upload_area import UploadArea
from rag.uploads import check_name, upload_access

log = logging.getLogger(__name__)

MAX_FILES = 100
"""Most files in one ``/ingest`` request."""

_BEARER = HTTPBearer(auto_error=False, description="The token given to `rag serve --token`.")
"""Reads ``Authorization: Bearer ...`` (module level: FastAPI resolves annotations here)."""


def _caller(tokens: Mapping[str, Principal]) -> Any:
    """A dependency returning the caller of ``Authorization: Bearer <token>`` (401 if unknown).

    Without tokens every request is let through as the anonymous caller (public documents).
    """
    known = [(token.encode(), who) for token, who in tokens.items()]

    def identify(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Principal:
        if not known:
            return ANONYMOUS
        given = credentials.credentials.encode() if credentials else b""
        found = None
        for expected, who in known:  # compare with every token: no early exit to time
            if hmac.compare_digest(given, expected):
                found = who
        if found is None:
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        return found

    return Depends(identify)


def _routes(state: ApiState, caller: Any) -> APIRouter:
    """Search, ingest, documents and delete over the served collection, for ``caller``."""
    router = APIRouter()
    rag, area = state.rag, state.uploads

    @router.post("/search")
    def search(request: SearchRequest, who: Principal = caller) -> dict[str, Any]:
        state.require_collection()
        hits = rag.search(request.query, request.k, request.search_filter(), principal=who)
        return {"query": request.query, "hits": [hit_json(h, i) for i, h in enumerate(hits, 1)]}

    @router.post("/ingest")
    async def ingest(request: Request, who: Principal = caller) -> dict[str, Any]:
        """Upload one or more files as multipart form fields and ingest them as ``who``'s."""
        limit = state.max_upload_bytes
        uploads.check_length(request.headers.get("content-length"), limit)
        limited = Request(request.scope, receive=uploads.limited_receive(request.receive, limit))
        try:
            async with limited.form(max_files=MAX_FILES) as form:
                files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
                if not files:
                    raise HTTPException(400, "send the files as multipart form fields")
                requested = Access.of(
                    [str(v) for v in form.getlist("allow_user")],
                    [str(v) for v in form.getlist("allow_group")],
                )
                access = upload_access(who, requested)
                names = uploads.checked_names(files)
                paths = [area.path(who, name) for name in names]

                def run() -> dict[str, Any]:
                    with area.hold(document_id(str(path)) for path in paths):
                        saved = [area.save(f.file, p) for f, p in zip(files, paths, strict=True)]
                        try:
                            return ingest_json(rag.ingest(saved, access=access))
                        finally:
                            state.count_documents()

                return await run_in_threadpool(run)
        except MultiPartException as e:
            raise HTTPException(400, f"bad multipart upload: {e.message}") from e

    @router.get("/documents")
    def documents(who: Principal = caller) -> dict[str, Any]:
        return {"documents": [document_json(d) for d in rag.documents(principal=who)]}

    @router.delete("/documents/{doc_id}")
    def delete(doc_id: str, who: Principal = caller) -> dict[str, Any]:
        with area.hold([doc_id]):  # after or before an upload of the same name, never between
            # a document the caller may not read is not there for it
            info = {d.doc_id: d for d in rag.documents(principal=who)}.get(doc_id)
            if info is not None:
                area.check_may_write(info.source, who)
            deleted = rag.delete(doc_id) if info is not None else 0
            state.count_documents()
            if info is None or not deleted:
                raise HTTPException(404, f"no stored document has id {doc_id!r}")
            area.remove(info.source)
        return {"doc_id": doc_id, "deleted": deleted}

    @router.get("/uploads/failed")
    def failed_uploads(who: Principal = caller) -> dict[str, Any]:
        """The caller's uploads that are not stored as sent: interrupted or not ingested."""
        failed = area.failed(who, rag.all_documents())
        return {"uploads": [asdict(f) for f in failed]}

    @router.delete("/uploads/failed/{name}")
    def discard_upload(name: str, who: Principal = caller) -> dict[str, Any]:
        """Delete one of the caller's failed uploads (never a stored document's file)."""
        removed = area.discard(who, check_name(name), rag.all_documents)
        return {"name": name, "removed": removed}

    return router


def create_app(
    rag: RAG,
    *,
    token: str | None = None,
    tokens: Mapping[str, Principal] | None = None,
    upload_dir: Path,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
) -> FastAPI:
    """Serve ``rag``'s collection; with tokens, every route but ``/health`` needs one.

    ``tokens`` maps each token to its caller, whose documents searches, answers and listings
    are limited to; ``token`` is an anonymous caller's (public documents only). Uploads are
    saved as ``upload_dir/OWNER/NAME`` (``rag.uploads``); bodies over ``max_upload_bytes``
    get 413.
    """
    if max_upload_bytes < 1:
        raise ConfigError(f"max_upload_bytes must be positive, got {max_upload_bytes}")
    state = ApiState(rag, UploadArea(upload_dir), max_upload_bytes)
    state.count_documents()
    app = FastAPI(
        title="LateRAG",
        summary="Cited answers and search over one LateRAG collection.",
        version="1",
    )
    add_error_handlers(app)
    app.add_middleware(JsonBodyLimit)
    callers = dict(tokens or {})
    if token:
        callers[token] = ANONYMOUS
    caller = _caller(callers)
    app.include_router(chat_router(state, caller), dependencies=[caller])
    app.include_router(_routes(state, caller), dependencies=[caller])

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Answered on the event loop from cached values: never waits for the store or model."""
        return {"status": "ok", "collection": state.collection, "documents": state.documents}

    return app
