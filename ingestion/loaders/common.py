"""What every loader shares: reading a file once, decoding text and building the ``Document``."""

from __future__ import annotations

import codecs
import errno
import hashlib
import logging
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import LoaderError
from rag.types import Document, Heading, document_id

logger = logging.getLogger(__name__)

MAX_REPLACEMENT_SHARE = 0.01
"""Most undecodable characters (as a share of the text) tolerated in a UTF-8 file."""

MB = 1024 * 1024

MAX_FILE_BYTES = 64 * MB
"""Largest file any loader reads (PDF, DOCX); a larger one is refused before reading."""

MAX_TEXT_FILE_BYTES = 16 * MB
"""Largest plain-text, Markdown or HTML file read; about four million tokens to embed."""

MAX_TEXT_CHARS = 16 * MB
"""Most characters of text one document may hold, whatever its format."""

_NEWLINES = re.compile(r"\r\n?")
_LINE_BREAK = re.compile(r"\r\n?|\n")


def read_source(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Return the bytes of ``path``; raises ``LoaderError`` when missing, unreadable or empty.

    Only regular files are read (never a FIFO or a device), and never more than ``max_bytes``.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        reason = "broken symbolic link" if path.is_symlink() else "file not found"
        raise LoaderError(str(path), reason) from e
    except IsADirectoryError as e:
        raise LoaderError(str(path), "is a directory, not a file") from e
    except PermissionError as e:
        raise LoaderError(str(path), "cannot read file (permission denied)") from e
    except OSError as e:
        raise LoaderError(str(path), _os_reason(e)) from e
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise LoaderError(str(path), "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise LoaderError(str(path), "not a regular file (a pipe, socket or device)")
        if info.st_size > max_bytes:
            raise LoaderError(str(path), too_large(info.st_size, max_bytes))
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grows while we read: take the rest, bounded
                data += file.read(max_bytes + 1 - len(data))
    except OSError as e:
        raise LoaderError(str(path), _os_reason(e)) from e
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew while we looked
        raise LoaderError(str(path), too_large(len(data), max_bytes))
    if not data:
        raise LoaderError(str(path), "empty file")
    return data


def too_large(size: int, limit: int) -> str:
    """The reason given for a file of ``size`` bytes over ``limit``."""
    return f"too large ({size / MB:.1f} MB; the limit is {limit / MB:g} MB)"


def _os_reason(error: OSError) -> str:
    if error.errno == errno.EISDIR:
        return "is a directory, not a file"
    if error.errno == errno.ELOOP:
        return "cannot read file (symbolic link loop)"
    return f"cannot read file ({error.strerror or error})"


def normalize_newlines(text: str) -> str:
    """Return ``text`` with Windows (CR LF) and old-Mac (CR) line ends turned into LF."""
    return _NEWLINES.sub("\n", text)


def line_starts(text: str) -> list[int]:
    """Return the offset where each line of ``text`` starts (lines end at LF, CR LF or CR)."""
    return [0, *(m.end() for m in _LINE_BREAK.finditer(text))]


def decode_text(path: Path, data: bytes, fallback: str | None = None) -> str:
    """Decode the bytes of a text file: BOM first, then UTF-8, then ``fallback`` if given.

    Line ends are normalised to LF. Raises ``LoaderError`` for binary data and for text
    that is not UTF-8 (more than ``MAX_REPLACEMENT_SHARE`` undecodable characters).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise LoaderError(str(path), "not valid UTF-16 text") from e
    elif b"\x00" in data:
        raise LoaderError(str(path), "binary data, not text")
    else:
        text = _decode_utf8(path, data, fallback)
    if "\x00" in text:
        raise LoaderError(str(path), "binary data, not text")
    return normalize_newlines(text)


def _decode_utf8(path: Path, data: bytes, fallback: str | None) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if fallback and not data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode(fallback)
        except (LookupError, UnicodeDecodeError):
            logger.debug("%s: declared encoding %r does not decode it", path, fallback)
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd")
    if bad > MAX_REPLACEMENT_SHARE * len(text):
        raise LoaderError(str(path), "not valid UTF-8 text")
    logger.warning("%s: replaced %d undecodable byte sequences", path, bad)
    return text


def build_document(
    path: Path,
    data: bytes,
    text: str,
    *,
    fmt: str,
    page_starts: Sequence[int] = (),
    headings: Sequence[Heading] = (),
    no_text_reason: str = "no text found",
    **metadata: Any,
) -> Document:
    """Return the ``Document`` for ``text`` read from ``path``; None ``metadata`` is dropped.

    Raises ``LoaderError`` with ``no_text_reason`` when ``text`` is only whitespace.
    """
    if not text.strip():
        raise LoaderError(str(path), no_text_reason)
    if len(text) > MAX_TEXT_CHARS:
        raise LoaderError(
            str(path),
            f"too much text ({len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}): "
            "split the document",
        )
    source = str(path.resolve())
    meta: dict[str, Any] = {"format": fmt, "name": path.name}
    meta.update((k, v) for k, v in metadata.items() if v is not None)
    logger.debug("loaded %s: %d chars, %d headings", source, len(text), len(headings))
    return Document(
        id=document_id(source),
        source=source,
        text=text,
        content_hash=hashlib.sha256(data).hexdigest(),
        page_starts=tuple(page_starts),
        headings=tuple(headings),
        metadata=meta,
    )
