"""Chunk vectors: late chunking (one pass over the document) and naive (one pass per chunk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from ingestion.embedding.pooling import SpanPooler
from ingestion.embedding.spans import Window, macro_windows, token_spans
from rag.errors import ConfigError
from rag.protocols import TokenEmbedder
from rag.types import Span, Tokens

WINDOWS_PER_CALL = 32


class ChunkVectorizer(Protocol):
    """Turns a tokenized document and its chunk spans into token spans and chunk vectors."""

    def vectorize(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span]
    ) -> tuple[list[Span], np.ndarray]:
        """Return each chunk's token span and its L2-normalised vector."""
        ...


class LateChunker:
    """Late chunking (Günther et al., 2024): encode the document, mean-pool each chunk's tokens.

    Documents longer than one window go through overlapping macro windows (the paper's long
    late chunking): every token state is computed with ``overlap`` tokens of left context at
    least and kept once, so no chunk is dropped or truncated. With ``special_tokens="paper"``
    the first chunk also pools the leading special tokens and prefix, the last chunk the
    trailing ones.
    """

    def __init__(
        self,
        encoder: TokenEmbedder,
        *,
        overlap: int | None = None,
        special_tokens: Literal["paper", "none"] = "paper",
    ) -> None:
        self.encoder = encoder
        self._overlap = overlap
        self.special_tokens = special_tokens

    @property
    def window(self) -> int:
        """Content tokens per macro window."""
        return self.encoder.content_window

    @property
    def overlap(self) -> int:
        """Tokens of left context each later window repeats."""
        overlap = self.window // 4 if self._overlap is None else self._overlap
        if overlap >= self.window:
            raise ConfigError(f"overlap {overlap} must be smaller than the window {self.window}")
        return overlap

    def vectorize(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span]
    ) -> tuple[list[Span], np.ndarray]:
        """Return token spans and late-chunked vectors for the chunks of one document."""
        spans = token_spans(tokens.offsets, char_spans)
        windows = macro_windows(len(tokens), self.window, self.overlap)
        pooler = SpanPooler(spans, self.encoder.dim)
        for first in range(0, len(windows), WINDOWS_PER_CALL):
            group = windows[first : first + WINDOWS_PER_CALL]
            states = self.encoder.token_states([tokens.ids[w.start : w.end] for w in group])
            for window, state in zip(group, states, strict=True):
                pooler.add(state.body[window.keep_from - window.start :], window.keep_from)
                self._add_specials(pooler, windows, window, state.head, state.tail)
        return spans, pooler.vectors()

    def _add_specials(
        self,
        pooler: SpanPooler,
        windows: list[Window],
        window: Window,
        head: np.ndarray,
        tail: np.ndarray,
    ) -> None:
        if self.special_tokens != "paper":
            return
        if window is windows[0]:
            pooler.add_extra(0, head)
        if window is windows[-1]:
            pooler.add_extra(len(pooler.spans) - 1, tail)


class NaiveChunker:
    """The baseline: embed each chunk's text on its own with the same model."""

    def __init__(self, encoder: TokenEmbedder) -> None:
        self.encoder = encoder

    def vectorize(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span]
    ) -> tuple[list[Span], np.ndarray]:
        """Return token spans and independently embedded vectors for the chunks."""
        spans = token_spans(tokens.offsets, char_spans)
        vectors = self.encoder.embed([text[a:b] for a, b in char_spans], "document")
        return spans, vectors
