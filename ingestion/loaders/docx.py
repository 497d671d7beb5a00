"""DOCX files via python-docx: body paragraphs and tables in order, headings from styles."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from ingestion.loaders.common import build_document, normalize_newlines, read_source
from ingestion.loaders.packages import check_unpacked_size
from rag.errors import LoaderError
from rag.types import Document, Heading

BLOCK_SEPARATOR = "\n\n"
"""Put between two paragraphs or tables; table rows are one per line."""

_HEADING_STYLE = re.compile(r"Heading ([1-9])")
_CORRUPT = (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, etree.LxmlError)
"""What python-docx raises on a package that is not a readable Word document."""


def heading_level(paragraph: Paragraph) -> int | None:
    """Return 1 for the "Title" style, N for "Heading N", else None."""
    style = paragraph.style
    name = style.name if style is not None else None
    if name == "Title":
        return 1
    match = _HEADING_STYLE.fullmatch(name or "")
    return int(match.group(1)) if match else None


def table_text(table: Table) -> str:
    """Return one line per non-empty row, its cells joined by `` | `` (merged cells once)."""
    lines = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is not previous:  # a merged cell repeats in every grid column it spans
                cells.append(" ".join(cell.text.split()))
            previous = cell._tc
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def docx_to_text(document: DocxDocument) -> tuple[str, list[Heading]]:
    """Return the body text of ``document`` and its headings."""
    blocks: list[str] = []
    headings: list[Heading] = []
    offset = 0
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            block = normalize_newlines(item.text)
            level = heading_level(item)
        else:
            block, level = table_text(item), None
        if not block.strip():
            continue
        if blocks:
            offset += len(BLOCK_SEPARATOR)
        if level is not None:
            headings.append(Heading(level=level, title=" ".join(block.split()), start=offset))
        blocks.append(block)
        offset += len(block)
    return BLOCK_SEPARATOR.join(blocks), headings


class DocxLoader:
    """Loads ``.docx`` files (not the older binary ``.doc``); headers and footers are skipped."""

    extensions: tuple[str, ...] = (".docx",)

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document with its styled headings."""
        return self.parse(path, read_source(path))

    def parse(self, path: Path, data: bytes) -> Document:
        """Read the DOCX package ``data`` of ``path`` (also the output of a .doc conversion)."""
        check_unpacked_size(path, data)
        try:
            document = docx.Document(io.BytesIO(data))
            text, headings = docx_to_text(document)
            title = (document.core_properties.title or "").strip() or None
        except _CORRUPT as e:
            reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            raise LoaderError(str(path), f"not a readable DOCX ({reason})") from e
        return build_document(path, data, text, fmt="docx", headings=headings, title=title)
