"""At most N hits from one page: the next best page instead of another chunk of the same one.

Small chunks of one page (rows of one table, sentences of one paragraph) often rank together
and crowd other pages out of the top k. Keeping the best ``per_page`` chunks of each PDF page
gives the k slots to more pages; chunks without pages (text, Markdown, HTML, DOCX) are never
grouped.
"""

from __future__ import annotations

from collections import Counter

from rag.protocols import Retriever
from rag.types import Hit, SearchFilter
from retrievers.title_boost import CANDIDATES


def page_key(hit: Hit) -> tuple[str, int] | str:
    """The document and first page of the hit's chunk; the chunk id when it has no page."""
    span = hit.chunk.page_span
    return hit.chunk.id if span is None else (hit.chunk.doc_id, span[0])


def per_page(hits: list[Hit], limit: int) -> list[Hit]:
    """Keep, in order, the first ``limit`` hits of each page."""
    seen: Counter[tuple[str, int] | str] = Counter()
    kept = []
    for hit in hits:
        key = page_key(hit)
        seen[key] += 1
        if seen[key] <= limit:
            kept.append(hit)
    return kept


class PerPageRetriever:
    """Fetches ``max(k, CANDIDATES)`` hits from ``retriever``; returns k, ``limit`` a page."""

    def __init__(self, retriever: Retriever, limit: int) -> None:
        self.retriever = retriever
        self.limit = limit

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """Return up to ``k`` hits, best first, at most ``limit`` from one page."""
        hits = self.retriever.retrieve(query, max(k, CANDIDATES), search_filter)
        return per_page(hits, self.limit)[:k]
