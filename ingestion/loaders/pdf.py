"""PDF files via pypdfium2: the text layer page by page, with the offset where each page starts."""

from __future__ import annotations

import logging
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingestion.loaders.common import (
    MAX_TEXT_CHARS,
    build_document,
    normalize_newlines,
    read_source,
)
from rag.errors import LoaderError
from rag.types import Document

logger = logging.getLogger(__name__)

PAGE_SEPARATOR = "\n\n"
"""Put between the texts of two pages; it belongs to the page before it."""

_CLEANUP = str.maketrans({"\x00": None, "\x02": "-"})
"""PDFium pads with NULs and reports some hyphens (``Non-GAAP``, ``S-T``) as U+0002."""


def page_text(page: pdfium.PdfPage) -> str:
    """Return the text layer of one page, with LF line ends."""
    textpage = page.get_textpage()
    try:
        return normalize_newlines(textpage.get_text_bounded().translate(_CLEANUP))
    finally:
        textpage.close()


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """Return the pages joined by ``PAGE_SEPARATOR`` and the offset where each page starts."""
    starts = []
    offset = 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(pages), tuple(starts)


def _open(path: Path, data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if e.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise LoaderError(str(path), "encrypted PDF") from e
        raise LoaderError(str(path), f"not a readable PDF ({_reason(e)})") from e


def _page(path: Path, pdf: pdfium.PdfDocument, index: int) -> str:
    try:
        page = pdf[index]
        try:
            return page_text(page)
        finally:
            page.close()
    except pdfium.PdfiumError as e:
        raise LoaderError(str(path), f"not a readable PDF (page {index + 1}: {_reason(e)})") from e


def _reason(error: Exception) -> str:
    """Return PDFium's own words for ``error``, e.g. ``Data format error``."""
    message = str(error)
    if "(PDFium: " in message:
        return message.split("(PDFium: ", 1)[1].rstrip(").")
    return message or type(error).__name__


class PdfLoader:
    """Loads ``.pdf`` files that have a text layer; scanned pages come out empty."""

    extensions: tuple[str, ...] = (".pdf",)

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document whose ``page_starts`` hold one offset per page."""
        data = read_source(path)
        pdf = _open(path, data)
        try:
            pages: list[str] = []
            chars = 0
            for index in range(len(pdf)):
                pages.append(_page(path, pdf, index))
                chars += len(pages[-1])
                if chars > MAX_TEXT_CHARS:  # stop extracting early; build_document words it
                    break
            title = (pdf.get_metadata_value("Title") or "").strip() or None
        finally:
            pdf.close()
        text, starts = join_pages(pages)
        logger.debug("%s: %d pages", path, len(pages))
        return build_document(
            path,
            data,
            text,
            fmt="pdf",
            page_starts=starts,
            no_text_reason="no text layer (scanned PDF?)",
            pages=len(pages),
            title=title,
        )
