"""Pure functions mapping chunk character spans to token spans (windows: ``rag.windows``)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from rag.errors import EmbeddingError
from rag.types import Span
from rag.windows import Window, macro_windows

__all__ = ["Window", "macro_windows", "token_spans"]


def token_spans(offsets: Sequence[Span], char_spans: Sequence[Span]) -> list[Span]:
    """Map each chunk's character span to the half-open range of tokens starting inside it.

    Raises ``EmbeddingError`` when a chunk holds no token or spans are out of order.
    """
    starts = [start for start, _ in offsets]
    result: list[Span] = []
    previous_end = 0
    for char_start, char_end in char_spans:
        if char_start < previous_end or char_end <= char_start:
            raise EmbeddingError(f"chunk spans overlap or are empty at characters {char_start}")
        first = bisect.bisect_left(starts, char_start)
        last = bisect.bisect_left(starts, char_end)
        if last <= first:
            raise EmbeddingError(f"the chunk at characters {char_start}-{char_end} holds no token")
        result.append((first, last))
        previous_end = char_end
    return result
