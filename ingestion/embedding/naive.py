"""Naive chunk vectors, the baseline: each chunk embedded on its own with the same model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingestion.embedding.plan import Plan, context_tokens
from ingestion.embedding.spans import token_spans
from rag.errors import EmbeddingError
from rag.protocols import TokenEmbedder, Unit
from rag.types import Span, Tokens


class NaivePlan(Plan):
    """A document's chunk texts and the vectors they get."""

    def __init__(self, texts: list[str], spans: list[Span], sizes: list[int], dim: int) -> None:
        super().__init__(spans, sizes)
        self.texts = texts
        self.matrix = np.zeros((len(texts), dim), dtype=np.float32)

    def vectors(self) -> np.ndarray:
        """Each chunk's vector."""
        if not self.done:
            raise EmbeddingError(f"{self.left} chunks of the document were not embedded")
        return self.matrix


class NaiveVectorizer:
    """The baseline: embed each chunk's text on its own with the same model."""

    def __init__(self, encoder: TokenEmbedder) -> None:
        self.encoder = encoder

    def plan(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span], context: str = ""
    ) -> NaivePlan:
        """Map chunk spans to tokens; each chunk is one unit, ``context`` its first line."""
        spans = token_spans(tokens.offsets, char_spans)
        header, ids = context_tokens(self.encoder, context)
        texts = [f"{header}\n{text[a:b]}" if header else text[a:b] for a, b in char_spans]
        sizes = [b - a + len(ids) for a, b in spans]
        return NaivePlan(texts, spans, sizes, self.encoder.dim)

    def run(self, units: Sequence[Unit]) -> None:
        """Embed the chunks of all given units in shared batches."""
        plans: list[tuple[NaivePlan, int]] = []
        for plan, i in units:
            if not isinstance(plan, NaivePlan):
                raise EmbeddingError("a naive vectorizer was given a plan it did not make")
            plans.append((plan, i))
        if not plans:
            return
        vectors = self.encoder.embed([p.texts[i] for p, i in plans], "document")
        for row, (plan, i) in enumerate(plans):
            plan.matrix[i] = vectors[row]
            plan.ran(1)
