"""Late chunking: one pass over the document's macro windows, each chunk's tokens mean-pooled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ingestion.embedding.plan import Plan, context_tokens
from ingestion.embedding.pooling import SpanPooler
from ingestion.embedding.spans import Window, macro_windows, token_spans
from ingestion.embedding.window_cache import WindowCache
from rag.errors import ConfigError, EmbeddingError
from rag.protocols import TokenEmbedder, Unit
from rag.types import Span, Tokens
from rag.windows import default_overlap


class LatePlan(Plan):
    """A document's macro windows and the pooler their token states go into."""

    def __init__(
        self,
        tokens: Tokens,
        spans: list[Span],
        windows: list[Window],
        dim: int,
        context: tuple[int, ...] = (),
    ) -> None:
        super().__init__(spans, [w.end - w.start + len(context) for w in windows])
        self.tokens = tokens
        self.windows = windows
        self.context = context
        self.pooler = SpanPooler(spans, dim)

    def vectors(self) -> np.ndarray:
        """Each chunk's pooled vector."""
        if not self.done:
            raise EmbeddingError(f"{self.left} windows of the document were not run")
        return self.pooler.vectors()


class LateVectorizer:
    """Late chunking (Günther et al., 2024): encode the document, mean-pool each chunk's tokens.

    Documents longer than one window go through overlapping macro windows (the paper's long
    late chunking): every token state is computed with ``overlap`` tokens of left context at
    least and kept once, so no chunk is dropped or truncated. With ``special_tokens="paper"``
    the first chunk also pools the leading special tokens and prefix, the last chunk the
    trailing ones. With a ``cache``, a window seen before (same ids, same chunk cuts) is
    pooled from its cached sums instead of being run again. A plan's ``context`` tokens (the
    document's title) go before the content of every window, out of its budget; their states
    shape the content's through attention but are never pooled.
    """

    def __init__(
        self,
        encoder: TokenEmbedder,
        *,
        overlap: int | None = None,
        special_tokens: Literal["paper", "none"] = "paper",
        cache: WindowCache | None = None,
    ) -> None:
        self.encoder = encoder
        self._overlap = overlap
        self.special_tokens = special_tokens
        self.cache = cache

    @property
    def window(self) -> int:
        """Content tokens per macro window."""
        return self.encoder.content_window

    @property
    def overlap(self) -> int:
        """Tokens of left context each later window repeats."""
        overlap = default_overlap(self.window) if self._overlap is None else self._overlap
        if overlap >= self.window:
            raise ConfigError(f"overlap {overlap} must be smaller than the window {self.window}")
        return overlap

    def plan(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span], context: str = ""
    ) -> LatePlan:
        """Map chunk spans to tokens and cut the document into macro windows."""
        spans = token_spans(tokens.offsets, char_spans)
        _, ids = context_tokens(self.encoder, context)
        room = self.window - len(ids)
        if self.overlap >= room:
            raise ConfigError(
                f"overlap {self.overlap} leaves no room in a window of {self.window} tokens "
                f"with {len(ids)} tokens of document context"
            )
        windows = macro_windows(len(tokens), room, self.overlap)
        return LatePlan(tokens, spans, windows, self.encoder.dim, ids)

    def run(self, units: Sequence[Unit]) -> None:
        """Run the windows (cached ones are pooled from the cache) and pool their states."""
        todo: list[tuple[LatePlan, Window, str | None]] = []
        for plan, i in units:
            if not isinstance(plan, LatePlan):
                raise EmbeddingError("a late vectorizer was given a plan it did not make")
            window = plan.windows[i]
            key = self._key(self.cache, plan, window) if self.cache is not None else None
            pieces = self.cache.get(key) if self.cache is not None and key else None
            if pieces is not None:
                _apply(plan, window, pieces)
                plan.ran(1)
            else:
                todo.append((plan, window, key))
        if not todo:
            return
        states = self.encoder.token_states(
            [p.context + p.tokens.ids[w.start : w.end] for p, w, _ in todo]
        )
        for (plan, window, key), state in zip(todo, states, strict=True):
            body = state.body[len(plan.context) :]  # the context's states are never pooled
            pieces = self._pieces(plan, window, body, state.head, state.tail)
            _apply(plan, window, pieces)
            if self.cache is not None and key:
                self.cache.put(key, pieces)
            plan.ran(1)

    def _specials(self, plan: LatePlan, window: Window) -> tuple[bool, bool]:
        paper = self.special_tokens == "paper"
        return paper and window is plan.windows[0], paper and window is plan.windows[-1]

    def _key(self, cache: WindowCache, plan: LatePlan, window: Window) -> str:
        first, last = self._specials(plan, window)
        start = window.start - len(plan.context)  # positions in the model's input
        return cache.key(
            plan.context + plan.tokens.ids[window.start : window.end],
            window.keep_from - start,
            [(a - start, b - start) for _, a, b in _cuts(plan, window)],
            first,
            last,
        )

    def _pieces(
        self,
        plan: LatePlan,
        window: Window,
        body: np.ndarray,
        head: np.ndarray,
        tail: np.ndarray,
    ) -> np.ndarray:
        """Per span piece of the window (then head, tail when pooled): state sum and count."""
        first, last = self._specials(plan, window)
        parts = [body[a - window.start : b - window.start] for _, a, b in _cuts(plan, window)]
        parts += [head] if first else []
        parts += [tail] if last else []
        rows = np.zeros((len(parts), body.shape[1] + 1), dtype=np.float64)
        for row, part in enumerate(parts):
            rows[row, :-1] = part.sum(axis=0, dtype=np.float64)
            rows[row, -1] = len(part)
        return rows


def _cuts(plan: LatePlan, window: Window) -> list[tuple[int, int, int]]:
    """Spans (index, first, last token) clipped to the tokens the window keeps."""
    return plan.pooler.pieces(window.keep_from, window.end)


def _apply(plan: LatePlan, window: Window, pieces: np.ndarray) -> None:
    """Add a window's piece sums to the document's pooler (specials: first and last chunk)."""
    targets = [index for index, _, _ in _cuts(plan, window)]
    extra = len(pieces) - len(targets)
    if extra and window is plan.windows[0]:
        targets.append(0)
    if len(targets) < len(pieces):
        targets.append(len(plan.spans) - 1)
    if len(targets) != len(pieces):
        raise EmbeddingError(f"a window's {len(pieces)} pooled pieces do not fit its spans")
    for index, row in zip(targets, pieces, strict=True):
        plan.pooler.add_sum(index, row[:-1], int(row[-1]))
