"""Markdown files: the source text as-is, with its ATX and setext headings located."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingestion.loaders.common import (
    MAX_TEXT_FILE_BYTES,
    build_document,
    decode_text,
    line_starts,
    read_source,
)
from rag.types import Document, Heading

_FRONT_MATTER = re.compile(r"---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)", re.DOTALL)


def front_matter_lines(text: str) -> int:
    """Return how many lines a leading YAML front-matter block spans (0 when there is none)."""
    match = _FRONT_MATTER.match(text)
    return match.group().count("\n") + (not match.group().endswith("\n")) if match else 0


def _plain(inline: Token) -> str:
    """Return the text of an inline token without its markup."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def find_headings(text: str) -> list[Heading]:
    """Return the headings of markdown ``text``; ``start`` is the offset of the heading's line."""
    tokens = MarkdownIt("commonmark").parse(text)
    starts = line_starts(text)
    skip = front_matter_lines(text)
    headings = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None or token.map[0] < skip:
            continue
        title = _plain(tokens[i + 1])
        if title:
            headings.append(
                Heading(level=int(token.tag[1:]), title=title, start=starts[token.map[0]])
            )
    return headings


class MarkdownLoader:
    """Loads ``.md`` and ``.markdown`` files; headings come from a CommonMark parse."""

    extensions: tuple[str, ...] = (".md", ".markdown")

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document whose headings index its text."""
        data = read_source(path, MAX_TEXT_FILE_BYTES)
        text = decode_text(path, data)
        headings = find_headings(text)
        title = next((h.title for h in headings if h.level == 1), None)
        return build_document(path, data, text, fmt="markdown", headings=headings, title=title)
