"""The default chunker: whole lines packed by block, a new chunk at every heading."""

from __future__ import annotations

import re
from functools import partial

from ingestion.chunkers.packing import (
    CUT_ANY,
    CUT_BLOCK,
    CUT_SENTENCE,
    SpanChunker,
    TokenIndex,
    Unit,
    pack,
    strip_span,
)
from ingestion.chunkers.sentences import sentence_units
from rag.types import Document, Span

_SENTENCE_END = re.compile(r"""[.!?:;…。！？]["'”’)\]]*$""")
_LIST_ITEM = re.compile(r"(?:[-*+•▪◦‣–—]|\(?(?:\d{1,3}|[a-zA-Z]|[ivxlcIVXLC]{1,6})[.)])\s")


def heading_starts(doc: Document) -> list[int]:
    """Return the sorted offsets inside ``doc.text`` where a heading starts."""
    return sorted({h.start for h in doc.headings if 0 < h.start < len(doc.text)})


def _add_line(
    units: list[Unit], text: str, index: TokenIndex, span: Span, chunk_size: int, cut: int
) -> int:
    """Append a line's units (itself, or its sentences if too long); return the next cut level."""
    start, end = strip_span(text, *span)
    if start == end:
        return CUT_BLOCK
    if cut == CUT_ANY and _LIST_ITEM.match(text, start, end):
        cut = CUT_SENTENCE
    if index.count(start, end) <= chunk_size:
        units.append(Unit((start, end), cut))
    else:
        units.extend(sentence_units(text, index, (start, end), chunk_size, cut))
    return CUT_SENTENCE if _SENTENCE_END.search(text, max(start, end - 8), end) else CUT_ANY


def sections(
    text: str, headings: list[int], index: TokenIndex, chunk_size: int
) -> list[list[Unit]]:
    """Return the packing units of each section (the text before, then under, each heading).

    Units are lines; a line longer than ``chunk_size`` tokens becomes its sentences, and a
    sentence longer than that becomes runs of tokens.
    """
    found: list[list[Unit]] = [[]]
    cut = CUT_BLOCK
    pos = 0
    next_heading = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line)
        pos = end
        while next_heading < len(headings) and headings[next_heading] < end:
            heading = headings[next_heading]
            next_heading += 1
            if heading > start:
                _add_line(found[-1], text, index, (start, heading), chunk_size, cut)
                start = heading
            found.append([])
            cut = CUT_BLOCK
        cut = _add_line(found[-1], text, index, (start, end), chunk_size, cut)
    return [units for units in found if units]


def split_structure(doc: Document, index: TokenIndex, chunk_size: int) -> list[Span]:
    """Pack whole lines of each section into chunks of at most ``chunk_size`` tokens.

    Blank lines separate blocks; every heading starts a new chunk. A chunk that is at least
    half full ends at a block start, else at a sentence end, rather than mid-paragraph; a line
    is split only when it alone is longer than ``chunk_size`` tokens (by sentences, then
    tokens), so a table row stays whole.
    """
    chunks: list[Span] = []
    for units in sections(doc.text, heading_starts(doc), index, chunk_size):
        chunks.extend(pack(index, units, chunk_size))
    return chunks


StructureChunker = partial(SpanChunker, strategy=split_structure)
"""``StructureChunker(tokenizer, chunk_size)``: headings, blocks and whole lines."""
