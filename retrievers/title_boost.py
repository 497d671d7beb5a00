"""Title boost: raise hits whose document's file name matches the query.

In a store of many similar documents (yearly filings of many companies, versions of one
manual), the passage that answers a question often has look-alikes in the wrong documents;
the file name usually says which document is meant ("3M_2018_10K.pdf"). Each candidate's
score ``s`` becomes ``s + weight * |s| * cos(query, title)``, the title being the file name
without its extension, separators read as spaces, embedded with the same model. The boost
is relative to the score, so its scale does not matter, but its spread does: RRF scores of
neighbouring ranks lie a few percent apart, far closer than cosines, so under hybrid search
the same weight lets the file name outweigh the content (README, "Default settings").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace

import numpy as np

from rag.protocols import Embedder, Retriever, TokenEmbedder
from rag.titles import file_title
from rag.types import Chunk, Hit, SearchFilter

CANDIDATES = 50
"""Hits fetched before the boost reorders them (at least k)."""


def title_of(chunk: Chunk) -> str:
    """The file name of the chunk's source without its extension, separators as spaces."""
    return file_title(chunk.source)


class TitleVectors:
    """Embeddings of document titles, kept for reuse (the oldest are dropped past ``size``)."""

    def __init__(self, encoder: TokenEmbedder, size: int = 4096) -> None:
        self.encoder = encoder
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # searches in several threads share the cache

    def get(self, titles: list[str]) -> np.ndarray:
        """Return one L2-normalised row per title, embedding only the titles not seen yet."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in titles if t not in self._vectors))
            if missing:
                embedded = self.encoder.embed(missing, "document")
                for title, vector in zip(missing, embedded, strict=True):
                    self._vectors[title] = vector
            rows = []
            for title in titles:
                self._vectors.move_to_end(title)
                rows.append(self._vectors[title])
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
            return np.stack(rows)


class TitleBoostedRetriever:
    """Fetches ``max(k, CANDIDATES)`` hits from ``retriever`` and boosts them by title.

    ``queries`` embeds the query (default: the titles' encoder); pass the encoder the inner
    retriever used if it remembers its last query, so the model runs once per search.
    """

    def __init__(
        self,
        retriever: Retriever,
        titles: TitleVectors,
        weight: float,
        *,
        queries: Embedder | None = None,
    ) -> None:
        self.retriever = retriever
        self.titles = titles
        self.weight = weight
        self.queries = queries or titles.encoder

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """Return up to ``k`` hits, best first, scores boosted by title similarity."""
        hits = self.retriever.retrieve(query, max(k, CANDIDATES), search_filter)
        if not hits:
            return []
        query_vector = self.queries.embed([query], "query")[0]
        similarity = self.titles.get([title_of(h.chunk) for h in hits]) @ query_vector
        boosted = [
            replace(hit, score=hit.score + self.weight * abs(hit.score) * float(sim))
            for hit, sim in zip(hits, similarity, strict=True)
        ]
        boosted.sort(key=lambda h: -h.score)
        return boosted[:k]
