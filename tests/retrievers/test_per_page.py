"""At most N hits a page: more pages reach the top k."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_corpus import pdf_bytes, text_pdf

from rag import RAG, RAGConfig, StoreConfig
from rag.config import ChunkingConfig, RetrievalConfig
from rag.encoders import TransformerEncoder
from rag.types import Chunk, Hit, SearchFilter, Span
from retrievers.per_page import CANDIDATES, PerPageRetriever, per_page


def hit(doc: str, index: int, pages: Span | None) -> Hit:
    return Hit(
        Chunk(
            doc, f"/{doc}.pdf", "h", index, f"{doc} {index}", (index, index + 1), page_span=pages
        ),
        1.0,
    )


def test_keeps_the_first_hits_of_each_page_in_order() -> None:
    hits = [
        hit("a", 0, (3, 3)),
        hit("a", 1, (3, 4)),
        hit("b", 0, (3, 3)),
        hit("a", 2, (3, 3)),
        hit("a", 3, None),
        hit("a", 4, None),
        hit("a", 5, (4, 4)),
    ]
    one = per_page(hits, 1)
    assert [(h.chunk.doc_id, h.chunk.index) for h in one] == [
        ("a", 0),
        ("b", 0),
        ("a", 3),
        ("a", 4),
        ("a", 5),
    ]
    two = per_page(hits, 2)
    assert [(h.chunk.doc_id, h.chunk.index) for h in two] == [
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("a", 3),
        ("a", 4),
        ("a", 5),
    ]


def test_retriever_fetches_candidates_and_returns_k() -> None:
    asked: list[int] = []

    class Same:
        def retrieve(
            self, query: str, k: int, search_filter: SearchFilter | None = None
        ) -> list[Hit]:
            asked.append(k)
            return [hit("a", i, (1 + i // 10, 1 + i // 10)) for i in range(k)]

    top = PerPageRetriever(Same(), 1).retrieve("q", 3)
    assert asked == [CANDIDATES]
    assert [h.chunk.page_span for h in top] == [(1, 1), (2, 2), (3, 3)]


@pytest.mark.slow
def test_search_returns_one_chunk_a_page_by_default(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    allowance = [
        f"The daily meal allowance for business travel in {city} is {amount} euros."
        for city, amount in (("Paris", 60), ("Berlin", 55), ("Madrid", 50), ("Rome", 52))
    ]
    pages = [allowance, ["Meal allowances are paid with the monthly salary."], ["Parking rules."]]
    pdf = tmp_path / "travel.pdf"
    pdf.write_bytes(pdf_bytes(text_pdf(pages)))
    store = StoreConfig(path=tmp_path / "store")
    chunking = ChunkingConfig(chunk_size=24)
    question = "What is the daily meal allowance for business travel?"
    with RAG(RAGConfig(store=store, chunking=chunking), encoder=encoder) as rag:
        rag.ingest([pdf])
        grouped = rag.search(question, 2)
    first_pages = [h.chunk.page_span[0] for h in grouped if h.chunk.page_span]
    assert first_pages[0] == 1 and len(set(first_pages)) == 2

    ungrouped = RAGConfig(store=store, chunking=chunking, retrieval=RetrievalConfig(per_page=0))
    with RAG(ungrouped, encoder=encoder) as rag:
        hits = rag.search(question, 2)
    assert [h.chunk.page_span[0] for h in hits if h.chunk.page_span] == [1, 1]
