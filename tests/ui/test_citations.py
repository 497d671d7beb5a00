"""A citation opened in place: the page text around the span, the span marked, all escaped."""

from __future__ import annotations

from rag.types import Citation, Document
from ui.citations import (
    CONTEXT_CHARS,
    citation_label,
    cited_passage,
    page_range,
    pages_label,
    passage_html,
)

PAGES = ["Page one says hello.\n", "Page two: <b>bold</b> & the cited fact.\n", "Page three.\n"]
TEXT = "".join(PAGES)
STARTS = (0, len(PAGES[0]), len(PAGES[0]) + len(PAGES[1]))


def doc(text: str = TEXT, page_starts: tuple[int, ...] = STARTS) -> Document:
    return Document(
        id="d", source="/docs/report.pdf", text=text, content_hash="h", page_starts=page_starts
    )


def cite(text: str, needle: str, pages: tuple[int, int] | None = (2, 2)) -> Citation:
    start = text.index(needle)
    span = (start, start + len(needle))
    return Citation(1, "d", "/docs/report.pdf", pages, span, needle)


def test_page_range_covers_the_cited_pages_only() -> None:
    assert TEXT[slice(*page_range(doc(), (2, 2)))] == PAGES[1]
    assert TEXT[slice(*page_range(doc(), (2, 3)))] == PAGES[1] + PAGES[2]
    assert page_range(doc(page_starts=()), None) == (0, len(TEXT))


def test_passage_is_the_page_text_with_the_span_marked_and_html_escaped() -> None:
    citation = cite(TEXT, "the cited fact")
    passage = cited_passage(doc(), citation)
    assert passage.before == "Page two: <b>bold</b> & "
    assert passage.cited == "the cited fact"
    assert passage.after == ".\n"
    html = passage_html(passage)
    assert '<mark class="cited">the cited fact</mark>' in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; " in html and "<b>" not in html
    assert "Page one" not in html and "Page three" not in html


def test_text_without_pages_is_clipped_around_the_span() -> None:
    text = "a" * 5000 + "NEEDLE" + "b" * 5000
    passage = cited_passage(doc(text, ()), cite(text, "NEEDLE", None))
    assert len(passage.before) == len(passage.after) == CONTEXT_CHARS
    assert passage.clipped_before and passage.clipped_after
    assert passage_html(passage).count("…") == 2


def test_a_changed_or_missing_file_shows_the_stored_chunk_alone() -> None:
    citation = cite(TEXT, "the cited fact")
    changed = doc(TEXT.replace("cited", "CITED"))
    for current in (changed, None):
        passage = cited_passage(current, citation)
        assert passage.stale and passage.cited == "the cited fact" and not passage.before


def test_labels_name_file_and_pages() -> None:
    assert citation_label(cite(TEXT, "the cited fact", (2, 3))) == "[1] report.pdf · pp. 2–3"
    assert citation_label(cite(TEXT, "the cited fact", None)) == "[1] report.pdf"
    assert pages_label((4, 4)) == "p. 4"
