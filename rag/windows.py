"""Pure window math: cut a token sequence into overlapping model windows and pool their states.

Used by late chunking for long documents and by the encoder for any text longer than one
window (a long question is embedded like one late chunk spanning all of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.errors import ConfigError, EmbeddingError
from rag.types import WindowStates


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


def default_overlap(size: int) -> int:
    """Tokens of left context each later window repeats unless configured: a quarter."""
    return size // 4


def pool_windows(windows: Sequence[Window], states: Sequence[WindowStates]) -> np.ndarray:
    """Mean of every kept token state, the first window's head and the last window's tail.

    For a single window this is the plain mean over all of its outputs (sentence-transformers'
    mean pooling); for more it is the late-chunking vector of one chunk spanning the text.
    """
    if not windows or len(windows) != len(states):
        raise EmbeddingError(f"{len(states)} window outputs for {len(windows)} windows")
    parts: list[np.ndarray] = [states[0].head]
    for window, state in zip(windows, states, strict=True):
        if len(state.body) != window.end - window.start:
            raise EmbeddingError(
                f"a window of {window.end - window.start} tokens gave {len(state.body)} states"
            )
        parts.append(state.body[window.keep_from - window.start :])
    parts.append(states[-1].tail)
    stacked = np.concatenate(parts, axis=0).astype(np.float64)
    return np.asarray(stacked.mean(axis=0), dtype=np.float32)
