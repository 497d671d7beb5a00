"""Slide decks: PPTX through unstructured, PPT converted by LibreOffice first; a slide is a page."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from itertools import groupby
from pathlib import Path
from typing import Any

from ingestion.loaders.common import read_source
from ingestion.loaders.convert import convert
from ingestion.loaders.elements import TextBuilder, add_elements, build
from ingestion.loaders.packages import check_compound, check_package
from ingestion.loaders.partition import partition
from rag.types import Document

NOTES_HEADING = "Speaker notes"
"""The level-2 heading put above a slide's speaker notes, so their chunks say what they are."""


def slide_title(element: Any) -> int | None:
    """Level 1 for the title placeholder's text (depth 0); other short lines stay text."""
    return 1 if not getattr(element.metadata, "category_depth", None) else None


def speaker_notes(package: bytes) -> list[str]:
    """Return the speaker notes of every slide, in order ("" for a slide without notes)."""
    import pptx  # installed with unstructured's pptx extra; imported only for decks

    notes = []
    for slide in pptx.Presentation(io.BytesIO(package)).slides:
        frame = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
        notes.append(frame.text.strip() if frame is not None else "")
    return notes


def slides_document(path: Path, package: bytes, data: bytes, fmt: str) -> Document:
    """Return the document of a PPTX ``package``; ``data`` are the bytes of ``path`` itself."""
    elements = partition(path, package, "PPTX", "pptx", "partition_pptx", include_slide_notes=False)
    notes = speaker_notes(package)
    by_slide = {
        number: list(group)
        for number, group in groupby(elements, lambda e: e.metadata.page_number or 1)
    }
    out = TextBuilder()
    for number in range(1, max([len(notes), *by_slide]) + 1):
        out.page(number)
        content = by_slide.get(number, [])
        has_notes = number <= len(notes) and bool(notes[number - 1])
        titled = any(type(e).__name__ == "Title" and slide_title(e) for e in content)
        if not titled and (content or has_notes):
            out.heading(f"Slide {number}", 1)
        add_elements(out, content, heading_rule=slide_title)
        if has_notes:
            out.heading(NOTES_HEADING, 2)
            out.paragraph(notes[number - 1])
    document = build(
        out, path, package, fmt=fmt, no_text_reason="no text on any slide", slides=len(notes)
    )
    return replace(document, content_hash=hashlib.sha256(data).hexdigest())


class PptxLoader:
    """Loads ``.pptx`` decks: one page per slide, titles as headings, speaker notes marked."""

    extensions: tuple[str, ...] = (".pptx",)

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document whose pages are its slides."""
        data = read_source(path)
        check_package(path, data, "PPTX")
        return slides_document(path, data, data, "pptx")


class PptLoader:
    """Loads legacy ``.ppt`` decks, converted to PPTX by LibreOffice (which must be installed)."""

    extensions: tuple[str, ...] = (".ppt",)

    def load(self, path: Path) -> Document:
        """Convert ``path`` and read it as a PPTX deck."""
        data = read_source(path)
        check_compound(path, data, "PPT")
        package = convert(path, data, "pptx")
        check_package(path, package, "PPT")
        return slides_document(path, package, data, "ppt")
