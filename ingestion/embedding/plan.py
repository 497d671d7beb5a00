"""The bookkeeping every vectorizer's plan shares: units, how many are left, the vectors."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from rag.protocols import Tokenizer
from rag.types import Span

MAX_CONTEXT_TOKENS = 24
"""Most tokens of document context (a title) put before a window or a chunk."""


def context_tokens(tokenizer: Tokenizer, context: str) -> tuple[str, tuple[int, ...]]:
    """``context`` cut to ``MAX_CONTEXT_TOKENS`` tokens: its text and its token ids."""
    if not context.strip():
        return "", ()
    tokens = tokenizer.tokenize(context)
    kept = tokens.ids[:MAX_CONTEXT_TOKENS]
    if not kept:
        return "", ()
    return context[: tokens.offsets[len(kept) - 1][1]], tuple(kept)


class Plan(ABC):
    """One document's pending work: ``sizes[i]`` tokens for unit ``i``; vectors when all ran."""

    def __init__(self, spans: list[Span], sizes: list[int]) -> None:
        self.spans = spans
        self.sizes = sizes
        self._left = len(sizes)

    @property
    def done(self) -> bool:
        """True when every unit has run."""
        return self._left == 0

    def ran(self, count: int) -> None:
        """Count ``count`` more units as run."""
        self._left -= count

    @property
    def left(self) -> int:
        """Units not run yet."""
        return self._left

    @abstractmethod
    def vectors(self) -> np.ndarray:
        """Return each chunk's L2-normalised vector; raises ``EmbeddingError`` before ``done``."""
