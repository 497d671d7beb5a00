"""Checks on container files before a parser opens them: zip packages and OLE compound files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingestion.loaders.common import MB
from rag.errors import LoaderError

MAX_UNPACKED_BYTES = 256 * MB
"""Most bytes a zip package (DOCX, PPTX, XLSX, EPUB, ODT) may unpack to; more is refused unread."""

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The start of an OLE compound file: .doc, .xls, .ppt, .msg, and encrypted Office files."""


def check_unpacked_size(path: Path, data: bytes) -> None:
    """Refuse a package whose parts unpack to more than ``MAX_UNPACKED_BYTES``.

    The sizes come from the zip directory; ``zipfile`` never inflates a part past its
    declared size, so a lying directory cannot get round the limit.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError):
        return  # the format's parser reports it as unreadable
    if unpacked > MAX_UNPACKED_BYTES:
        raise LoaderError(
            str(path),
            f"unpacks to {unpacked / MB:,.0f} MB, over the {MAX_UNPACKED_BYTES / MB:g} MB "
            "limit (a zip bomb?)",
        )


def check_package(path: Path, data: bytes, kind: str) -> None:
    """Refuse ``data`` unless it is a zip package of sane size; ``kind`` names the format.

    An encrypted (password-protected) Office file is an OLE container, not a zip: it is
    named as such.
    """
    if data.startswith(OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data:
            raise LoaderError(str(path), f"encrypted {kind} (password-protected)")
        raise LoaderError(str(path), f"not a readable {kind} (an older binary Office file?)")
    if not data.startswith(ZIP_MAGIC):
        raise LoaderError(str(path), f"not a readable {kind} (not a zip package)")
    check_unpacked_size(path, data)


def check_compound(path: Path, data: bytes, kind: str) -> None:
    """Refuse ``data`` unless it is an OLE compound file (legacy .doc, .xls, .ppt, .msg)."""
    if not data.startswith(OLE_MAGIC):
        raise LoaderError(str(path), f"not a readable {kind} (not an OLE compound file)")
