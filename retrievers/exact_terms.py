"""Exact-term boost: raise hits that contain the numbers and codes the query names.

Dense vectors of small models barely tell "warehouse 7" from "warehouse 57", so a question
naming a number, amount or identifier often ranks a look-alike first. Each query term with a
digit in it (``7``, ``2018``, ``INV-40417``, ``1,234.5``) is looked for as a whole term in each
candidate: found right after the query word before it ("warehouse 7"), it counts 1; found
elsewhere, 1/2. A candidate's score ``s`` becomes ``s + weight * |s| * m``, ``m`` the mean
count over the query's such terms, so queries without numbers keep their order.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.protocols import Retriever
from rag.types import Hit, SearchFilter
from retrievers.title_boost import CANDIDATES

_TERM = re.compile(r"\w+(?:[.,:/-]\w+)*")


def terms(text: str) -> list[str]:
    """The lower-cased terms of ``text``; numbers, amounts and codes stay whole."""
    return _TERM.findall(text.lower())


def exact_terms(query: str) -> list[tuple[str | None, str]]:
    """The query's terms with a digit, each with the term before it (None at the start)."""
    words = terms(query)
    return [
        (words[n - 1] if n else None, word)
        for n, word in enumerate(words)
        if any(c.isdigit() for c in word)
    ]


def match(wanted: list[tuple[str | None, str]], text: str) -> float:
    """Mean over ``wanted`` of 1 (found after its query neighbour), 1/2 (found) or 0."""
    words = terms(text)
    present = set(words)
    pairs = set(zip(words, words[1:], strict=False))
    found = [
        1.0 if before is not None and (before, term) in pairs else 0.5 if term in present else 0.0
        for before, term in wanted
    ]
    return sum(found) / len(found)


class ExactTermRetriever:
    """Fetches ``max(k, CANDIDATES)`` hits from ``retriever``; boosts the exact-term matches."""

    def __init__(self, retriever: Retriever, weight: float) -> None:
        self.retriever = retriever
        self.weight = weight

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """Return up to ``k`` hits, best first, scores raised by exact-term matches."""
        wanted = exact_terms(query)
        if not wanted:
            return self.retriever.retrieve(query, k, search_filter)
        hits = self.retriever.retrieve(query, max(k, CANDIDATES), search_filter)
        boosted = [
            replace(hit, score=hit.score + self.weight * abs(hit.score) * match(wanted, text))
            for hit, text in ((hit, hit.chunk.text) for hit in hits)
        ]
        boosted.sort(key=lambda h: -h.score)
        return boosted[:k]
