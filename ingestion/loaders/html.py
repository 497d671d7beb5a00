"""HTML files: readable text with one block per line, table rows as ``a | b``, and headings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PageElement

from ingestion.loaders.common import (
    MAX_TEXT_FILE_BYTES,
    build_document,
    decode_text,
    normalize_newlines,
    read_source,
)
from rag.types import Document, Heading

DROPPED = frozenset({"script", "style", "noscript", "template", "head", "iframe", "svg"})
"""Elements whose content is never text for a reader."""

PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote", "ul", "ol", "dl"}
    | {"hr", "section", "article", "header", "footer", "nav", "aside", "main", "figure", "form"}
)
"""Blocks set apart by a blank line."""

LINES = frozenset(
    {"div", "li", "tr", "dt", "dd", "caption", "figcaption", "address", "details", "summary"}
    | {"fieldset", "legend", "option"}
)
"""Blocks that start on a line of their own."""

PREFORMATTED = frozenset({"pre", "textarea", "listing", "plaintext"})
CELLS = frozenset({"td", "th"})
HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


@dataclass
class _OpenHeading:
    level: int
    start: int | None = None
    first_part: int = 0


class _TextBuilder:
    """Accumulates text with collapsed whitespace, line breaks and heading offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.trailing_newlines = 0
        self.newlines = 0
        self.space = False
        self.cell_depth = 0
        self.headings: list[Heading] = []
        self.open_headings: list[_OpenHeading] = []

    def brk(self, newlines: int) -> None:
        """Ask for ``newlines`` line ends before the next text (a space inside a table cell)."""
        if self.cell_depth:
            self.space = True
        else:
            self.newlines = max(self.newlines, newlines)

    def inline(self, text: str, preformatted: bool = False) -> None:
        """Add ``text``, collapsing its whitespace unless ``preformatted``."""
        if preformatted:
            if text:
                self._emit(normalize_newlines(text))
            return
        words = text.split()
        if text[:1].isspace():
            self.space = True
        if words:
            self._emit(" ".join(words))
            self.space = text[-1].isspace()

    def separator(self) -> None:
        """Add the `` | `` between two table cells."""
        self.space = True
        self._emit("|")
        self.space = True

    def _emit(self, text: str) -> None:
        if self.length:
            if self.newlines > self.trailing_newlines:
                self._append("\n" * (self.newlines - self.trailing_newlines))
            elif self.space and not self.trailing_newlines:
                self._append(" ")
        for heading in self.open_headings:
            if heading.start is None:
                heading.start, heading.first_part = self.length, len(self.parts)
        self.newlines, self.space = 0, False
        self._append(text)

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        stripped = len(text) - len(text.rstrip("\n"))
        self.trailing_newlines = (
            stripped if stripped < len(text) else self.trailing_newlines + stripped
        )

    def open_heading(self, level: int) -> None:
        """Start collecting a heading of ``level``."""
        self.open_headings.append(_OpenHeading(level))

    def close_heading(self) -> None:
        """Finish the innermost open heading; kept when it holds text."""
        heading = self.open_headings.pop()
        title = " ".join("".join(self.parts[heading.first_part :]).split())
        if heading.start is not None and title:
            self.headings.append(Heading(level=heading.level, title=title, start=heading.start))

    def text(self) -> str:
        """Return the text built so far."""
        return "".join(self.parts)


def html_to_text(soup: BeautifulSoup) -> tuple[str, list[Heading]]:
    """Return the readable text of ``soup`` and its headings, walking the tree without recursion."""
    out = _TextBuilder()
    pre_depth = 0
    rows: list[int] = []  # cells seen so far in each open table row
    stack: list[tuple[PageElement, bool]] = [(soup, False)]
    while stack:
        node, leaving = stack.pop()
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:  # not a comment, doctype or CDATA
                out.inline(str(node), preformatted=pre_depth > 0)
            continue
        if not isinstance(node, Tag) or node.name in DROPPED:
            continue
        name = node.name
        if name in CELLS:
            out.cell_depth += -1 if leaving else 1
            if not leaving and rows:
                if rows[-1]:
                    out.separator()
                rows[-1] += 1
        if name == "tr":
            if leaving:
                rows.pop()
            else:
                rows.append(0)
        if name in PREFORMATTED:
            pre_depth += -1 if leaving else 1
        if name in PARAGRAPHS:
            out.brk(2)
        elif name in LINES or name == "br":
            out.brk(1)
        if name in HEADING_LEVELS:
            if leaving:
                out.close_heading()
            else:
                out.open_heading(HEADING_LEVELS[name])
        if not leaving and name != "br":
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))
    return out.text(), out.headings


def declared_charset(data: bytes) -> str | None:
    """Return the charset a ``<meta>`` tag near the top of ``data`` declares, if any."""
    match = _CHARSET.search(data[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


class HtmlLoader:
    """Loads ``.html`` and ``.htm`` files; nothing they reference is fetched."""

    extensions: tuple[str, ...] = (".html", ".htm")

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document with its headings and ``<title>``."""
        data = read_source(path, MAX_TEXT_FILE_BYTES)
        markup = decode_text(path, data, fallback=declared_charset(data))
        soup = BeautifulSoup(markup, "lxml")
        text, headings = html_to_text(soup)
        title_tag = soup.find("title")
        title = " ".join(title_tag.get_text().split()) if title_tag else ""
        return build_document(path, data, text, fmt="html", headings=headings, title=title or None)
