"""Error responses: OpenAI's shape and kinds for every failure, whatever raised it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import (
    ConfigError,
    GenerationError,
    InputError,
    LoaderError,
    RagError,
    StoreLockedError,
)
from rag.uploads import UploadError

log = logging.getLogger(__name__)

ERROR_KINDS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
}
"""OpenAI's error ``type`` for each HTTP status; others: 4xx invalid request, 5xx api_error."""

ERROR_CODES = {413: "request_too_large", 415: "unsupported_media_type"}
"""The ``code`` that says more where one ``type`` covers several statuses."""


def error_kind(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    return ERROR_KINDS.get(status, "invalid_request_error" if status < 500 else "api_error")


def error_body(message: str, status: int) -> dict[str, Any]:
    """The body of every error response, shaped as OpenAI's so its clients show the message."""
    error: dict[str, Any] = {"message": message, "type": error_kind(status)}
    if status in ERROR_CODES:
        error["code"] = ERROR_CODES[status]
    return {"error": error}


def status_of(error: RagError) -> int:
    """The HTTP status of a LateRAG error: the caller's fault, the LLM's, a busy store..."""
    if isinstance(error, ConfigError | LoaderError | InputError):
        return 400
    if isinstance(error, UploadError):
        return error.status
    if isinstance(error, GenerationError):
        return 502
    if isinstance(error, StoreLockedError):
        return 503
    return 500


def add_error_handlers(app: FastAPI) -> None:
    """Every error answers ``{"error": {"message", "type"}}`` with OpenAI's kinds."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        body = error_body(str(e.detail), e.status_code)
        return JSONResponse(body, status_code=e.status_code, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        return JSONResponse(error_body(problems, 422), status_code=422)

    @app.exception_handler(RagError)
    async def rag_error(request: Request, e: RagError) -> JSONResponse:
        status = status_of(e)
        log.warning("%s %s failed: %s", request.method, request.url.path, e)
        return JSONResponse(error_body(str(e), status), status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=e)
        return JSONResponse(error_body("internal server error", 500), status_code=500)
