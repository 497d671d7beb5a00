"""A citation shown in place: its page text with the cited chunk highlighted, as safe HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from rag.types import Citation, Document, Span

CONTEXT_CHARS = 1500
"""Most characters shown on either side of the cited span."""


@dataclass(frozen=True)
class CitedPassage:
    """The text around a cited span: ``before``, the span itself, ``after``.

    ``clipped_before``/``clipped_after`` say that text was left out at either end; ``stale``
    says the file no longer holds the cited text, so only the stored chunk is shown.
    """

    before: str
    cited: str
    after: str
    clipped_before: bool = False
    clipped_after: bool = False
    stale: bool = False


def page_range(doc: Document, pages: Span | None) -> Span:
    """Return the character range of the 1-based inclusive ``pages`` (the whole text if none)."""
    if not doc.page_starts or pages is None:
        return (0, len(doc.text))
    first, last = pages
    starts = doc.page_starts
    start = starts[max(first, 1) - 1] if first - 1 < len(starts) else len(doc.text)
    end = starts[last] if last < len(starts) else len(doc.text)
    return (start, end)


def cited_passage(doc: Document | None, citation: Citation) -> CitedPassage:
    """Return the cited span inside its page text, clipped to ``CONTEXT_CHARS`` either side."""
    start, end = citation.char_span
    if doc is None or doc.text[start:end] != citation.text:
        return CitedPassage("", citation.text, "", stale=True)
    page_start, page_end = page_range(doc, citation.page_span)
    page_start, page_end = min(page_start, start), max(page_end, end)
    left = max(page_start, start - CONTEXT_CHARS)
    right = min(page_end, end + CONTEXT_CHARS)
    return CitedPassage(
        before=doc.text[left:start],
        cited=doc.text[start:end],
        after=doc.text[end:right],
        clipped_before=left > page_start,
        clipped_after=right < page_end,
    )


def passage_html(passage: CitedPassage) -> str:
    """Return the passage as escaped HTML with the cited span in ``<mark>``."""
    parts = [
        "…" if passage.clipped_before else "",
        html.escape(passage.before),
        f'<mark class="cited">{html.escape(passage.cited)}</mark>',
        html.escape(passage.after),
        "…" if passage.clipped_after else "",
    ]
    style = "white-space: pre-wrap; max-height: 22rem; overflow-y: auto; font-size: 0.9rem"
    return f'<div class="cited-passage" style="{style}">{"".join(parts)}</div>'


def pages_label(pages: Span | None) -> str:
    """Return ``p. 3`` or ``pp. 3–4`` for a page range, empty without pages."""
    if pages is None:
        return ""
    first, last = pages
    return f"p. {first}" if first == last else f"pp. {first}–{last}"


def citation_label(citation: Citation) -> str:
    """Return the one-line title of a citation: number, file name and pages."""
    pages = pages_label(citation.page_span)
    name = Path(citation.source).name
    return f"[{citation.number}] {name}" + (f" · {pages}" if pages else "")
