"""Retrieval metrics: FinanceBench page recall, hit rate and MRR; BEIR nDCG and recall."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.types import Hit


@dataclass(frozen=True)
class PageQuery:
    """A question whose evidence is pages (0-based indexes) of one document."""

    id: str
    text: str
    doc: str
    pages: frozenset[int]


@dataclass(frozen=True)
class DocQuery:
    """A question whose relevant documents carry graded judgements (BEIR qrels)."""

    id: str
    text: str
    relevance: Mapping[str, int]


def doc_name(hit: Hit) -> str:
    """The document a hit comes from, as evaluation data names it: the file name's stem."""
    source = hit.chunk.source.replace("\\", "/")
    name = source.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def gold_pages(hit: Hit, query: PageQuery) -> set[int]:
    """The query's gold pages (0-based) inside the hit's page range (1-based, inclusive)."""
    if doc_name(hit) != query.doc or hit.chunk.page_span is None:
        return set()
    first, last = hit.chunk.page_span
    return {p for p in query.pages if first - 1 <= p <= last - 1}


def page_scores(hits: Sequence[Hit], query: PageQuery) -> dict[str, float]:
    """Page recall@1/5/10, hit@5/10 and MRR@10 of one ranked list."""
    found = [gold_pages(h, query) for h in hits]
    scores: dict[str, float] = {}
    for k in (1, 5, 10):
        covered: set[int] = set().union(*found[:k])
        scores[f"recall@{k}"] = len(covered) / len(query.pages)
    for k in (5, 10):
        scores[f"hit@{k}"] = float(any(found[:k]))
    first = next((rank for rank, pages in enumerate(found[:10], start=1) if pages), None)
    scores["mrr@10"] = 1.0 / first if first else 0.0
    return scores


def best_chunk_ranking(hits: Sequence[Hit]) -> list[str]:
    """Documents in the order of their best chunk (the late-chunking paper's document score)."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(doc_name(hit))
    return list(seen)


def ndcg(ranking: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with graded relevance."""
    gains = [relevance.get(doc, 0) for doc in ranking[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def doc_scores(hits: Sequence[Hit], query: DocQuery, k: int) -> dict[str, float]:
    """nDCG@10 and recall@k of documents ranked by their best chunk."""
    ranking = best_chunk_ranking(hits)
    relevant = {d for d, g in query.relevance.items() if g > 0}
    return {
        "ndcg@10": ndcg(ranking, query.relevance, 10),
        f"recall@{k}": len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0,
    }


def mean(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Average each metric over the queries."""
    keys = list(rows[0]) if rows else []
    return {key: sum(r[key] for r in rows) / len(rows) for key in keys}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]
