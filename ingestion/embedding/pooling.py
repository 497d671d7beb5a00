"""Mean pooling of token states over chunk spans, one window at a time."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from rag.errors import EmbeddingError
from rag.types import Span
from rag.vectors import normalise_rows


class SpanPooler:
    """Accumulates sums and counts of token states per span, so windows can be discarded."""

    def __init__(self, spans: Sequence[Span], dim: int) -> None:
        self.spans = list(spans)
        self._starts = [start for start, _ in self.spans]
        self._sums = np.zeros((len(self.spans), dim), dtype=np.float64)
        self._counts = np.zeros(len(self.spans), dtype=np.int64)

    def add(self, states: np.ndarray, first_token: int) -> None:
        """Add the states of tokens ``first_token .. first_token + len(states)``."""
        last_token = first_token + len(states)
        if not len(states):
            return
        cumulative = np.vstack([np.zeros((1, states.shape[1])), np.cumsum(states, axis=0)])
        i = max(bisect.bisect_right(self._starts, first_token) - 1, 0)
        while i < len(self.spans) and self.spans[i][0] < last_token:
            start, end = self.spans[i]
            a, b = max(start, first_token), min(end, last_token)
            if a < b:
                self._sums[i] += cumulative[b - first_token] - cumulative[a - first_token]
                self._counts[i] += b - a
            i += 1

    def pieces(self, first_token: int, last_token: int) -> list[tuple[int, int, int]]:
        """Each span overlapping tokens ``[first_token, last_token)``: index, clipped start, end."""
        out = []
        i = max(bisect.bisect_right(self._starts, first_token) - 1, 0)
        while i < len(self.spans) and self.spans[i][0] < last_token:
            start, end = self.spans[i]
            a, b = max(start, first_token), min(end, last_token)
            if a < b:
                out.append((i, a, b))
            i += 1
        return out

    def add_sum(self, index: int, total: np.ndarray, count: int) -> None:
        """Add the sum of ``count`` token states to span ``index``."""
        self._sums[index] += total
        self._counts[index] += count

    def vectors(self) -> np.ndarray:
        """Return each span's mean, L2-normalised; raises if a span received no state."""
        missing = np.flatnonzero(self._counts == 0)
        if missing.size:
            raise EmbeddingError(f"no token states reached span {self.spans[int(missing[0])]}")
        return normalise_rows(self._sums / self._counts[:, None]).astype(np.float32)


def pool_spans(states: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """Mean-pool and normalise ``states[start:end]`` for each span of one token sequence."""
    pooler = SpanPooler(spans, states.shape[1])
    pooler.add(states, 0)
    return pooler.vectors()
