"""A cheap look at a file's first bytes, to tell whether they fit the type its name claims."""

from __future__ import annotations

import codecs
from pathlib import PurePath

SNIFF_BYTES = 8192
"""How many leading bytes ``content_mismatch`` looks at."""

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def content_mismatch(name: str, head: bytes) -> str | None:
    """Return why ``head`` (a file's first bytes) cannot be a file called ``name``, or None.

    PDFs must carry ``%PDF-`` near the start, DOCX files are zip packages, and text, Markdown
    and HTML hold no NUL byte (UTF-16 with a BOM aside). Loaders still check everything.
    """
    suffix = PurePath(name).suffix.lower()
    if not head:
        return None  # an empty file gets the loader's own "empty file"
    if suffix == ".pdf":
        return None if b"%PDF-" in head[:1024] else "content is not a PDF (no %PDF- header)"
    if suffix == ".docx":
        return None if head.startswith(b"PK\x03\x04") else "content is not a DOCX (not a zip)"
    if b"\x00" in head[:SNIFF_BYTES] and not head.startswith(_UTF16_BOMS):
        return "content is binary, not text"
    return None
