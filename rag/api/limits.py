"""Size limits of the JSON routes: refused fast (413/422), the oversized text never echoed."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.api import uploads
from rag.api.errors import error_body

MAX_JSON_BYTES = 1024 * 1024
"""The largest body of a route other than ``/ingest`` (1 MiB): larger ones get 413."""
MAX_QUERY_CHARS = 10_000
"""The longest ``/search`` query or chat question; long questions of a few pages still fit."""
MAX_MESSAGES = 200
"""Most messages in one chat request."""
MAX_MESSAGE_CHARS = 100_000
"""The longest single chat message."""
MAX_INSTRUCTION_CHARS = 8_000
"""The longest system (and developer) messages, together."""

UPLOAD_PATHS = frozenset({"/ingest"})
"""Routes whose bodies have their own, larger limit (``max_upload_bytes``)."""


class JsonBodyLimit:
    """ASGI middleware: a body over ``limit`` bytes on any route but the upload ones is 413.

    A declared ``Content-Length`` over the limit is refused before the body is read; a
    chunked body is cut off as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_JSON_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body limited, or answer 413."""
        if scope["type"] != "http" or scope["path"] in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        limited: Any = uploads.limited_receive(receive, self.limit)
        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body is larger than the limit of {self.limit} bytes"
        response = JSONResponse(error_body(message, 413), status_code=413)
        response.headers["Connection"] = "close"  # the unread body is not drained
        await response(scope, receive, send)
