"""Pooling the windows of a text longer than one model window, on synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from rag.errors import EmbeddingError
from rag.types import WindowStates
from rag.windows import macro_windows, pool_windows

DIM = 6


def _states(full: np.ndarray, start: int, end: int) -> WindowStates:
    """What a model whose state of token i is ``full[i]`` gives for window [start, end)."""
    return WindowStates(head=full[:1], body=full[1 + start : 1 + end], tail=full[-1:])


def test_one_window_is_the_plain_mean_of_all_outputs() -> None:
    full = np.random.default_rng(0).normal(size=(7, DIM))  # head, 5 tokens, tail
    windows = macro_windows(5, 10, 2)
    pooled = pool_windows(windows, [_states(full, 0, 5)])
    np.testing.assert_allclose(pooled, full.mean(axis=0), rtol=1e-5)


def test_many_windows_count_every_token_once_with_one_head_and_one_tail() -> None:
    full = np.random.default_rng(1).normal(size=(32, DIM))  # head, 30 tokens, tail
    windows = macro_windows(30, 8, 2)
    assert len(windows) > 1
    pooled = pool_windows(windows, [_states(full, w.start, w.end) for w in windows])
    np.testing.assert_allclose(pooled, full.mean(axis=0), rtol=1e-5)


def test_counts_that_do_not_line_up_are_refused() -> None:
    full = np.zeros((12, DIM))
    windows = macro_windows(10, 4, 1)
    with pytest.raises(EmbeddingError, match="window outputs"):
        pool_windows(windows, [_states(full, 0, 4)])
    bad = [_states(full, w.start, w.end - 1) for w in windows]
    with pytest.raises(EmbeddingError, match="gave"):
        pool_windows(windows, bad)
