"""A fake token embedder over whitespace words, for pipeline tests without a model."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import numpy as np

from rag.types import Tokens, WindowStates

DIM = 8


class WordEncoder:
    """A fake token embedder over whitespace words; states mix in the window mean (context)."""

    name = "word-fake"
    dim = DIM
    max_tokens = 34
    runtime = {"device": "cpu", "precision": "fp32", "backend": "fake"}

    def __init__(self) -> None:
        self.table = np.random.default_rng(3).normal(size=(1000, DIM))
        self.calls: list[list[int]] = []

    @property
    def content_window(self) -> int:
        return self.max_tokens - 2

    def tokenize(self, text: str) -> Tokens:
        words = list(re.finditer(r"\S+", text))
        return Tokens(
            ids=tuple(sum(map(ord, m.group())) % 1000 for m in words),
            offsets=tuple((m.start(), m.end()) for m in words),
        )

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        self.calls.append([len(w) for w in windows])
        out = []
        for ids in windows:
            body = self.table[list(ids)]
            body = body + 0.5 * body.mean(axis=0)
            out.append(WindowStates(head=self.table[[1]], body=body, tail=self.table[[2]]))
        return out

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        self.calls.append([len(self.tokenize(t)) for t in texts])
        vectors = np.array([self.table[list(self.tokenize(t).ids)].mean(0) for t in texts])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def windows_run(self) -> int:
        return sum(len(c) for c in self.calls)


class SlowWordEncoder(WordEncoder):
    """A ``WordEncoder`` whose forward passes take ``seconds`` each, like a real model's."""

    name = "word-fake"

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        time.sleep(self.seconds)
        return super().token_states(windows)

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        time.sleep(self.seconds)
        return super().embed(texts, kind)


class FakeEncoder:
    """Token states are the token id's fixed embedding plus ``context`` times the window mean."""

    name = "fake"
    dim = DIM
    max_tokens = 6 + 2

    def __init__(self, context: float = 0.0) -> None:
        self.table = np.random.default_rng(7).normal(size=(100, DIM))
        self.context = context
        self.calls: list[int] = []

    @property
    def content_window(self) -> int:
        return self.max_tokens - 2

    def tokenize(self, text: str) -> Tokens:
        raise NotImplementedError

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        out = []
        for ids in windows:
            self.calls.append(len(ids))
            body = self.table[list(ids)]
            body = body + self.context * body.mean(axis=0)
            out.append(WindowStates(head=self.table[[98]], body=body, tail=self.table[[99]]))
        return out

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        raise NotImplementedError


def tokens_of_length(n: int) -> Tokens:
    """``n`` tokens, one character each, ids cycling through 0-89."""
    return Tokens(ids=tuple(i % 90 for i in range(n)), offsets=tuple((i, i + 1) for i in range(n)))
