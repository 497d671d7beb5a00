"""A cheap look at a file's first bytes, to tell whether they fit the type its name claims."""

from __future__ import annotations

import codecs
from pathlib import PurePath

from ingestion.loaders.packages import OLE_MAGIC, ZIP_MAGIC

SNIFF_BYTES = 8192
"""How many leading bytes ``content_mismatch`` looks at."""

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

_VOWEL_SOUNDS = frozenset("AEFHILMNORSX")
"""Initials read with a vowel sound (an ODT, an XLS, an MSG)."""

_ZIPPED = frozenset({".docx", ".pptx", ".epub", ".odt"})
"""Zip packages; an encrypted one is an OLE container and fails at load, not here."""
_COMPOUND = frozenset({".doc", ".ppt", ".xls", ".msg"})
"""OLE compound files."""


def content_mismatch(name: str, head: bytes) -> str | None:
    r"""Return why ``head`` (a file's first bytes) cannot be a file called ``name``, or None.

    PDFs must carry ``%PDF-`` near the start; DOCX, PPTX, EPUB and ODT files are zip packages
    (XLSX too, or an OLE container when password-protected); DOC, PPT, XLS and MSG files are
    OLE compound files; RTF starts with ``{\rtf``; text, Markdown, HTML, CSV, TSV and mail
    hold no NUL byte (UTF-16 with a BOM aside). Loaders still check everything.
    """
    suffix = PurePath(name).suffix.lower()
    kind = suffix.lstrip(".").upper()
    kind = f"an {kind}" if kind[:1] in _VOWEL_SOUNDS else f"a {kind}"
    if not head:
        return None  # an empty file gets the loader's own "empty file"
    if suffix == ".pdf":
        return None if b"%PDF-" in head[:1024] else "content is not a PDF (no %PDF- header)"
    if suffix in _ZIPPED:
        return None if head.startswith(ZIP_MAGIC) else f"content is not {kind} (not a zip)"
    if suffix == ".xlsx":
        fits = head.startswith((ZIP_MAGIC, OLE_MAGIC))
        return None if fits else "content is not an XLSX (not a zip)"
    if suffix in _COMPOUND:
        fits = head.startswith(OLE_MAGIC)
        return None if fits else f"content is not {kind} (not an OLE compound file)"
    if suffix == ".rtf":
        return None if head.lstrip()[:5] == b"{\\rtf" else "content is not an RTF (no {\\rtf)"
    if b"\x00" in head[:SNIFF_BYTES] and not head.startswith(_UTF16_BOMS):
        return "content is binary, not text"
    return None
