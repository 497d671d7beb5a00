"""Mixed chunk vectors: each chunk's late vector blended with the chunk embedded on its own.

A late-chunked vector carries its document's context, but neighbouring chunks of one window
share most of it and grow alike; the chunk embedded alone keeps what sets it apart. The mixed
vector is ``normalise(w * late + (1 - w) * naive)``, so it costs both passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingestion.embedding.late import LatePlan, LateVectorizer
from ingestion.embedding.naive import NaivePlan, NaiveVectorizer
from ingestion.embedding.plan import Plan
from rag.errors import ConfigError, EmbeddingError
from rag.protocols import Unit
from rag.types import Span, Tokens
from rag.vectors import normalise_rows


def blend(late: np.ndarray, naive: np.ndarray, weight: float) -> np.ndarray:
    """Return ``normalise(weight * late + (1 - weight) * naive)`` row by row, as float32."""
    return normalise_rows(weight * late + (1 - weight) * naive).astype(np.float32)


class MixedPlan(Plan):
    """A document's late windows followed by its naive chunks, as one list of units."""

    def __init__(self, late: LatePlan, naive: NaivePlan, weight: float) -> None:
        super().__init__(late.spans, late.sizes + naive.sizes)
        self.late = late
        self.naive = naive
        self.weight = weight

    def split(self, index: int) -> Unit:
        """The late or naive unit behind unit ``index`` of this plan."""
        windows = len(self.late.sizes)
        return (self.late, index) if index < windows else (self.naive, index - windows)

    def vectors(self) -> np.ndarray:
        """Each chunk's blended vector, L2-normalised."""
        if not self.done:
            raise EmbeddingError(f"{self.left} units of the document were not run")
        return blend(self.late.vectors(), self.naive.vectors(), self.weight)


class MixedVectorizer:
    """Blends a ``LateVectorizer``'s vectors with a ``NaiveVectorizer``'s, ``weight`` on late."""

    def __init__(self, late: LateVectorizer, naive: NaiveVectorizer, weight: float) -> None:
        if not 0 < weight < 1:
            raise ConfigError(f"the late weight of mixed chunking must be in (0, 1), got {weight}")
        self.late = late
        self.naive = naive
        self.weight = weight

    def plan(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span], context: str = ""
    ) -> MixedPlan:
        """Plan both passes over the document, with the same context."""
        late = self.late.plan(text, tokens, char_spans, context)
        naive = self.naive.plan(text, tokens, char_spans, context)
        return MixedPlan(late, naive, self.weight)

    def run(self, units: Sequence[Unit]) -> None:
        """Run the late windows and the naive chunks among ``units``."""
        parts: list[tuple[MixedPlan, Unit]] = []
        for plan, i in units:
            if not isinstance(plan, MixedPlan):
                raise EmbeddingError("a mixed vectorizer was given a plan it did not make")
            parts.append((plan, plan.split(i)))
        self.late.run([u for _, u in parts if isinstance(u[0], LatePlan)])
        self.naive.run([u for _, u in parts if isinstance(u[0], NaivePlan)])
        for plan, _ in parts:
            plan.ran(1)
