"""unstructured's elements turned into a ``Document``: blocks, headings, pages and table headers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from ingestion.loaders.common import build_document
from rag.types import Context, Document, Heading

BLOCK_SEPARATOR = "\n\n"
"""Put between two blocks (paragraphs, lists, tables); it belongs to the block before it."""

CELL_SEPARATOR = " | "
"""Put between the cells of a table row, as the PDF and DOCX loaders do; one row a line."""

SKIPPED = frozenset({"PageBreak", "PageNumber", "Header", "Footer", "Image"})
"""Element types that hold no text a reader would search (running headers, page numbers)."""

_NUMBERED = re.compile(r"(?:\d{1,3}|[a-zA-Z])[.)]\s|[-*•▪◦‣–]\s")
"""A list item that carries its own number or bullet keeps it instead of getting ``- ``."""

HeadingRule = Callable[[Any], int | None]
"""Returns the heading level (1 = top) of a ``Title`` element, or None to keep it as text."""


def _words(text: str) -> str:
    return " ".join(text.split())


def structural_heading(element: Any) -> int | None:
    """The level of a title that comes from the file's structure (``<h2>`` is depth 1: level 2)."""
    depth = getattr(element.metadata, "category_depth", None)
    return (depth or 0) + 1


def table_rows(html: str) -> list[list[str]]:
    """Return the non-empty rows of an HTML table, each a list of whitespace-collapsed cells."""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    rows = []
    for tr in root.iter("tr"):
        cells = [_words(cell.text_content()) for cell in tr if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return rows


class TextBuilder:
    """Joins blocks with blank lines and records headings, page starts and table headers."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._pages: list[int] = []
        self._pending_page: int | None = None
        self.headings: list[Heading] = []
        self.contexts: list[Context] = []

    def page(self, number: int) -> None:
        """Start page ``number`` (1-based) at the next block; pages skipped stay empty."""
        if number > len(self._pages):
            self._pending_page = number

    def _start(self) -> int:
        """Add the separator a new block needs; return where the block starts."""
        if self._parts:
            self._append(BLOCK_SEPARATOR)
        if self._pending_page is not None:
            while len(self._pages) < self._pending_page:
                self._pages.append(self._length)
            self._pending_page = None
        return self._length

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def heading(self, title: str, level: int, block: Sequence[str] = ()) -> None:
        """Add a heading of ``level`` (1 = top): its title line, or the lines of ``block``."""
        title = _words(title)
        if title:
            self.headings.append(Heading(level=level, title=title, start=self._start()))
            self._append("\n".join(block) if block else title)

    def paragraph(self, text: str) -> None:
        """Add a block of text; its own line breaks are kept, blank lines squeezed."""
        lines = [" ".join(line.split()) for line in text.splitlines()]
        block = "\n".join(line for line in lines if line)
        if block:
            self._start()
            self._append(block)

    def lines(self, lines: Sequence[str]) -> None:
        """Add lines that belong together (a list: one item a line) as one block."""
        kept = [line.rstrip() for line in lines if line.strip()]
        if kept:
            self._start()
            self._append("\n".join(kept))

    def table(self, rows: Sequence[Sequence[str]]) -> None:
        """Add a table, one row a line; the first row is the header read before every chunk."""
        lines = [CELL_SEPARATOR.join(cells) for cells in rows]
        if not lines:
            return
        start = self._start()
        self._append("\n".join(lines))
        header = (start, start + len(lines[0]))
        if len(lines) > 1:
            self.contexts.append(Context(header[1] + 1, self._length, header))

    def pages(self) -> tuple[int, ...]:
        """The offset where each page starts (pages opened last but given no block included)."""
        if self._pending_page is not None:
            return (*self._pages, *([self._length] * (self._pending_page - len(self._pages))))
        return tuple(self._pages)

    def text(self) -> str:
        """The text built so far."""
        return "".join(self._parts)


def add_elements(
    out: TextBuilder,
    elements: Iterable[Any],
    *,
    heading_rule: HeadingRule = structural_heading,
    pages: bool = False,
) -> None:
    """Add unstructured ``elements`` in order: titles, list items, tables and text blocks."""
    items: list[str] = []
    for element in elements:
        kind = type(element).__name__
        if kind == "ListItem":
            text = _words(element.text)
            items.append(text if _NUMBERED.match(text) else f"- {text}")
            continue
        if items:
            out.lines(items)
            items = []
        if kind in SKIPPED:
            continue
        number = getattr(element.metadata, "page_number", None)
        if pages and number:
            out.page(number)
        level = heading_rule(element) if kind == "Title" else None
        html = getattr(element.metadata, "text_as_html", None) if kind == "Table" else None
        if level is not None:
            out.heading(element.text, level)
        elif html:
            out.table(table_rows(html))
        else:
            out.paragraph(element.text)
    if items:
        out.lines(items)


def build(
    out: TextBuilder,
    path: Path,
    data: bytes,
    *,
    fmt: str,
    no_text_reason: str = "no text found",
    **metadata: Any,
) -> Document:
    """Return the ``Document`` of the text built in ``out``, read from ``path``."""
    document = build_document(
        path,
        data,
        out.text(),
        fmt=fmt,
        page_starts=out.pages(),
        headings=out.headings,
        no_text_reason=no_text_reason,
        **metadata,
    )
    return replace(document, contexts=tuple(out.contexts))
