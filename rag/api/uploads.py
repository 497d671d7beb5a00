"""Files uploaded to ``POST /ingest``: safe names, a body size limit, atomic saves."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import HTTPException

from ingestion.loaders import SNIFF_BYTES, SUPPORTED_EXTENSIONS, content_mismatch

Message = MutableMapping[str, Any]

MAX_NAME_CHARS = 255


def safe_name(raw: str | None) -> str:
    """Return an uploaded file's name if it is a plain, visible, supported file name, else 4xx.

    Paths (a slash or backslash), ``..``, hidden names and control characters are refused, not
    rewritten, so a file never lands anywhere but the upload folder under another name.
    """
    name = raw or ""
    shown = repr(name[:80])
    if not name.strip():
        raise HTTPException(400, "an uploaded file has no file name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise HTTPException(400, f"upload name {shown} is a path: send a plain file name")
    if name.startswith("."):
        raise HTTPException(400, f"upload name {shown} is hidden (starts with '.')")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name) > MAX_NAME_CHARS:
        raise HTTPException(400, f"upload name {shown} has control characters or is too long")
    if Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        raise HTTPException(415, f"upload {shown} is not a supported type ({supported})")
    return name


def checked_name(raw: str | None, source: BinaryIO) -> str:
    """Return ``safe_name(raw)`` once the upload's first bytes fit its type, else 415."""
    name = safe_name(raw)
    head = source.read(SNIFF_BYTES)
    source.seek(0)
    reason = content_mismatch(name, head)
    if reason:
        raise HTTPException(415, f"upload {name!r}: {reason}")
    return name


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


def save(source: BinaryIO, folder: Path, name: str) -> Path:
    """Write ``source`` to ``folder/name`` atomically (replacing an older upload of that name)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{uuid.uuid4().hex}.part"
    try:
        with open(partial, "wb") as out:
            shutil.copyfileobj(source, out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
