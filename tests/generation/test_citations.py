from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.generation.citations import (
    NO_HITS_TEXT,
    build_answer,
    cited_numbers,
    no_hits_answer,
    parse_citations,
)
from rag.types import Chunk, Hit


def make_hits(count: int) -> list[Hit]:
    hits = []
    for i in range(count):
        chunk = Chunk(
            doc_id=f"doc-{i}",
            source=f"/data/file{i}.pdf",
            content_hash="h",
            index=i,
            text=f"passage number {i + 1}",
            char_span=(100 * i, 100 * i + 20),
            page_span=(i + 1, i + 2),
        )
        hits.append(Hit(chunk=chunk, score=1.0 - i / 10))
    return hits


def test_single_and_grouped_and_adjacent_markers() -> None:
    assert cited_numbers("A [1,2]. B [3][4]. C [ 2 , 1 ].", 4) == [1, 2, 3, 4]


def test_order_is_first_appearance_without_duplicates() -> None:
    assert cited_numbers("x [3] y [1] z [3] w [2, 1]", 5) == [3, 1, 2]


def test_out_of_range_numbers_are_ignored() -> None:
    assert cited_numbers("see [9] and [0] and [2021] but also [2]", 3) == [2]
    assert cited_numbers("only [1, 9]", 3) == [1]


def test_no_markers_means_no_citations() -> None:
    hits = make_hits(2)
    assert parse_citations("The answer has no markers, [a] or [] or (1).", hits) == ()


def test_citations_point_at_the_right_hits() -> None:
    hits = make_hits(3)
    citations = parse_citations("First [3], then [1].", hits)
    assert [c.number for c in citations] == [3, 1]
    third = citations[0]
    assert third.doc_id == "doc-2"
    assert third.source == "/data/file2.pdf"
    assert third.page_span == (3, 4)
    assert third.char_span == (200, 220)
    assert third.text == "passage number 3"
    assert third.quote is None


def test_build_answer_keeps_text_hits_and_generator() -> None:
    hits = make_hits(2)
    answer = build_answer("q?", "Yes [2].", hits, "model-x")
    assert answer.text == "Yes [2]."
    assert answer.hits == tuple(hits)
    assert answer.generator == "model-x"
    assert [c.doc_id for c in answer.citations] == ["doc-1"]


def test_no_hits_answer() -> None:
    answer = no_hits_answer("q?", "gen")
    assert answer.text == NO_HITS_TEXT
    assert answer.citations == () and answer.hits == ()


@given(st.text(alphabet="[]0123456789, ab"), st.integers(min_value=0, max_value=12))
def test_cited_numbers_are_unique_and_in_range(text: str, count: int) -> None:
    numbers = cited_numbers(text, count)
    assert len(numbers) == len(set(numbers))
    assert all(1 <= n <= count for n in numbers)
