"""Citation markers: find ``[n]``, ``[n, m]`` and ``[n][m]`` in answers and map them to hits."""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping, Sequence

from rag.types import Answer, Citation, Hit

NO_HITS_TEXT = "No relevant passages were found."
"""The answer given, without calling any model, when retrieval found nothing."""

NO_ANSWER_TEXT = "No passage answers this question."
"""The extractive answer when passages were found but no sentence of them is close enough."""

_MARKER = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")


def cited_numbers(text: str, count: int) -> list[int]:
    """Return the passage numbers cited in ``text`` that lie in ``1..count``, first-seen order."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for part in match.group(1).split(","):
            number = int(part)
            if 1 <= number <= count:
                seen.setdefault(number)
    return list(seen)


def citation_for(number: int, hit: Hit, quote: str | None = None) -> Citation:
    """Return the citation ``[number]`` pointing at ``hit``'s chunk."""
    chunk = hit.chunk
    return Citation(
        number=number,
        doc_id=chunk.doc_id,
        source=chunk.source,
        page_span=chunk.page_span,
        char_span=chunk.char_span,
        text=chunk.text,
        quote=quote,
    )


def parse_citations(
    text: str, hits: Sequence[Hit], quotes: Mapping[int, str] | None = None
) -> tuple[Citation, ...]:
    """Return one citation per distinct in-range marker of ``text``; ``[n]`` is ``hits[n-1]``."""
    quotes = quotes or {}
    return tuple(
        citation_for(n, hits[n - 1], quotes.get(n)) for n in cited_numbers(text, len(hits))
    )


def build_answer(question: str, text: str, hits: Sequence[Hit], generator: str) -> Answer:
    """Return the answer ``text`` with the citations parsed from its markers."""
    return Answer(
        question=question,
        text=text,
        citations=parse_citations(text, hits),
        hits=tuple(hits),
        generator=generator,
    )


def no_hits_answer(question: str, generator: str) -> Answer:
    """Return the fixed answer for a question that retrieval found nothing for."""
    return Answer(question=question, text=NO_HITS_TEXT, citations=(), hits=(), generator=generator)


def drain(stream: Generator[str, None, Answer]) -> Answer:
    """Consume a generator's stream and return the answer it ends with."""
    while True:
        try:
            next(stream)
        except StopIteration as done:
            answer: Answer = done.value
            return answer
