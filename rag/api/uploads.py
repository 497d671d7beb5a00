"""Files uploaded to ``POST /ingest``: the upload policy's checks and a body size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import UploadFile

from ingestion.loaders import SNIFF_BYTES
from rag.uploads import check_content, check_names

Message = MutableMapping[str, Any]


def checked_names(files: Sequence[UploadFile]) -> list[str]:
    """The names of one request's files once each passes ``rag.uploads``'s checks."""
    names = check_names(f.filename for f in files)
    for upload, name in zip(files, names, strict=True):
        head = upload.file.read(SNIFF_BYTES)
        upload.file.seek(0)
        check_content(name, head)
    return names


def too_large(limit: int) -> HTTPException:
    """The 413 error for a request body over ``limit`` bytes."""
    return HTTPException(413, f"upload is larger than the limit of {limit} bytes")


def check_length(header: str | None, limit: int) -> None:
    """Refuse a declared ``Content-Length`` over ``limit`` before reading the body."""
    if header is not None and header.isdigit() and int(header) > limit:
        raise too_large(limit)


def limited_receive(
    receive: Callable[[], Awaitable[Message]], limit: int
) -> Callable[[], Awaitable[Message]]:
    """Wrap an ASGI ``receive`` so a body longer than ``limit`` (chunked or not) raises 413."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
        return message

    return wrapped
