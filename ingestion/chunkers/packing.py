"""Span arithmetic the chunkers share: token counting by offsets, token cuts and greedy packing."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.errors import ConfigError, EmbeddingError
from rag.protocols import Tokenizer
from rag.types import Document, Span, Tokens

_NON_SPACE = re.compile(r"\S")

CUT_ANY = 0
"""A unit may start a chunk, but only because nothing better is near (a word piece, a wrap)."""
CUT_SENTENCE = 1
"""A unit starts right after a sentence end."""
CUT_BLOCK = 2
"""A unit starts a block: a paragraph, a table, a list, after a blank line."""


def check_chunk_size(chunk_size: object) -> int:
    """Return ``chunk_size`` if it is a whole number of tokens >= 1, else raise ``ConfigError``."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a whole number of tokens >= 1, got {chunk_size!r}")
    return chunk_size


def check_tokenizer(tokenizer: object) -> None:
    """Raise ``ConfigError`` unless ``tokenizer`` has a ``tokenize(text)`` method."""
    if not isinstance(tokenizer, Tokenizer):
        raise ConfigError(
            f"tokenizer must have a tokenize(text) -> Tokens method, got {type(tokenizer).__name__}"
        )


def strip_span(text: str, start: int, end: int) -> Span:
    """Return ``(start, end)`` narrowed to exclude leading and trailing whitespace of ``text``."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end)


def cut_pieces(text: str, cuts: Iterable[int], start: int, end: int) -> list[Span]:
    """Cut ``text[start:end]`` at the given positions; return the stripped, non-empty pieces."""
    bounds = sorted({start, end, *(c for c in cuts if start < c < end)})
    pieces = (strip_span(text, a, b) for a, b in zip(bounds, bounds[1:], strict=False))
    return [piece for piece in pieces if piece[0] < piece[1]]


@dataclass(frozen=True)
class TokenIndex:
    """Where each token of one text starts and ends, for counting the tokens in a span.

    A token's ``start`` is its offset start moved past any whitespace (so a stripped span
    still holds it) and kept non-decreasing; a token is in span ``(s, e)`` when
    ``s <= start < e``.
    """

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def build(cls, text: str, tokens: Tokens) -> TokenIndex:
        """Index the tokens of ``text``; raise ``EmbeddingError`` on offsets outside it."""
        if len(tokens.offsets) != len(tokens.ids):
            raise EmbeddingError(
                f"tokenizer returned {len(tokens.ids)} ids but {len(tokens.offsets)} offsets"
            )
        starts: list[int] = []
        ends: list[int] = []
        floor = 0
        for start, end in tokens.offsets:
            if not 0 <= start <= end <= len(text):
                raise EmbeddingError(
                    f"tokenizer returned offsets {(start, end)} outside a text of {len(text)} chars"
                )
            if start < len(text) and text[start].isspace():
                found = _NON_SPACE.search(text, start)
                start = found.start() if found else len(text)
            floor = max(floor, start)
            starts.append(floor)
            ends.append(end)
        return cls(tuple(starts), tuple(ends))

    def __len__(self) -> int:
        return len(self.starts)

    def first(self, pos: int) -> int:
        """Return the index of the first token that starts at or after ``pos``."""
        return bisect.bisect_left(self.starts, pos)

    def count(self, start: int, end: int) -> int:
        """Return how many tokens start in ``[start, end)``."""
        return max(0, self.first(end) - self.first(start))

    def can_cut(self, k: int) -> bool:
        """Return True when a span may end before token ``k`` (it starts after token k-1)."""
        return self.starts[k] > self.starts[k - 1]

    def starts_word(self, k: int) -> bool:
        """Return True when token ``k`` starts a word: a gap separates it from token k-1."""
        return self.starts[k] > self.ends[k - 1]


def _token_cut(index: TokenIndex, first: int, stop: int, chunk_size: int) -> int:
    """Return the token that starts the next piece after the piece starting at ``first``."""
    limit = first + chunk_size
    if limit >= stop:
        return stop
    for k in range(limit, first, -1):
        if index.starts_word(k):
            return k
    for k in range(limit, first, -1):
        if index.can_cut(k):
            return k
    # More than chunk_size tokens start at one character: they cannot be told apart.
    k = limit + 1
    while k < stop and not index.can_cut(k):
        k += 1
    return k


def split_by_tokens(text: str, index: TokenIndex, span: Span, chunk_size: int) -> list[Span]:
    """Split ``span`` into pieces of at most ``chunk_size`` tokens, at word starts if possible.

    Every piece but the last holds ``chunk_size`` tokens unless that would cut a word (a token
    that follows the previous one without a gap); then the piece ends before that word.
    """
    start, end = span
    first, stop = index.first(start), index.first(end)
    cuts: list[int] = []
    while stop - first > chunk_size:
        first = _token_cut(index, first, stop, chunk_size)
        if first < stop:
            cuts.append(index.starts[first])
    return cut_pieces(text, cuts, start, end)


@dataclass(frozen=True)
class Unit:
    """A stripped span packing never splits, with how good a place its start is to cut."""

    span: Span
    cut: int = CUT_ANY


def _best_cut(index: TokenIndex, units: Sequence[Unit], first: int, stop: int, size: int) -> int:
    """Return where to end a chunk of ``units[first:stop]`` that cannot take ``units[stop]``.

    Prefer the latest block start, then the latest sentence start, that leaves the chunk at
    least half full; otherwise take everything that fits.
    """
    start = units[first].span[0]
    for level in (CUT_BLOCK, CUT_SENTENCE):
        if units[stop].cut >= level:
            return stop
        for k in range(stop - 1, first, -1):
            if 2 * index.count(start, units[k - 1].span[1]) < size:
                break
            if units[k].cut >= level:
                return k
    return stop


def pack(index: TokenIndex, units: Sequence[Unit], chunk_size: int) -> list[Span]:
    """Join consecutive units greedily into chunks of at most ``chunk_size`` tokens.

    Units must be ordered, non-overlapping and hold at most ``chunk_size`` tokens each (an
    oversized unit becomes a chunk of its own). Chunks without tokens are left out.
    """
    chunks: list[Span] = []
    first = 0
    while first < len(units):
        start = units[first].span[0]
        stop = first + 1
        while stop < len(units) and index.count(start, units[stop].span[1]) <= chunk_size:
            stop += 1
        if stop < len(units):
            stop = _best_cut(index, units, first, stop, chunk_size)
        span = (start, units[stop - 1].span[1])
        if index.count(*span) > 0:
            chunks.append(span)
        first = stop
    return chunks


Strategy = Callable[[Document, TokenIndex, int], list[Span]]
"""Cuts a non-blank document, given its token index and the chunk size, into spans."""


@dataclass(frozen=True)
class SpanChunker:
    """A ``Chunker``: checks its settings, tokenizes each document once, applies ``strategy``."""

    tokenizer: Tokenizer
    chunk_size: int
    strategy: Strategy

    def __post_init__(self) -> None:
        check_tokenizer(self.tokenizer)
        check_chunk_size(self.chunk_size)

    def split(self, doc: Document) -> list[Span]:
        """Return the chunk spans of ``doc.text``, in order."""
        text = doc.text
        if not text or text.isspace():
            return []
        index = TokenIndex.build(text, self.tokenizer.tokenize(text))
        return self.strategy(doc, index, self.chunk_size)
