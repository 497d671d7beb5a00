"""Pure functions mapping chunk character spans to token spans and macro windows."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from rag.errors import ConfigError, EmbeddingError
from rag.types import Span


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


@dataclass(frozen=True)
class Window:
    """One macro window: tokens ``[start, end)`` are fed, outputs from ``keep_from`` are kept."""

    start: int
    end: int
    keep_from: int


def macro_windows(n_tokens: int, size: int, overlap: int) -> list[Window]:
    """Cut ``n_tokens`` into overlapping windows (long late chunking, Günther et al. Alg. 2).

    The first window keeps all of its outputs; each later window starts ``overlap`` tokens
    before the end of the previous one and drops those first ``overlap`` outputs, so every
    token's state is kept exactly once.
    """
    if size < 1:
        raise ConfigError(f"window size must be positive, got {size}")
    if not 0 <= overlap < size:
        raise ConfigError(f"window overlap must be in [0, {size - 1}], got {overlap}")
    windows = [Window(0, min(size, n_tokens), 0)]
    kept_until = windows[0].end
    while kept_until < n_tokens:
        start = kept_until - overlap
        end = min(start + size, n_tokens)
        windows.append(Window(start, end, kept_until))
        kept_until = end
    return windows
