"""Turning new scores into a reranked list of hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.types import Hit


def rescored(hits: Sequence[Hit], scores: Sequence[float], k: int) -> list[Hit]:
    """Return the top ``k`` hits under new ``scores``, best first; ties keep the input order."""
    if len(scores) != len(hits):
        raise ValueError(f"{len(scores)} scores for {len(hits)} hits")
    order = sorted(range(len(hits)), key=lambda i: -scores[i])
    return [replace(hits[i], score=float(scores[i])) for i in order[: max(k, 0)]]
