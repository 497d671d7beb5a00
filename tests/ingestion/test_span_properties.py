"""Properties of spans, token mapping, macro windows and pooling on random Unicode text.

The tokenizer is the bundled MiniLM's; the text mixes emoji, ZWJ sequences, flags, combining
marks, zero-width characters and scripts written right to left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from vectorize import vectorize

from ingestion.chunk_builder import ChunkBuilder
from ingestion.chunkers import CHUNKERS
from ingestion.embedding import LateVectorizer, SpanPooler, macro_windows, pool_spans
from rag.config import ChunkingConfig
from rag.encoders import TransformerEncoder
from rag.types import Chunk, Document, Heading, Span, Tokens, WindowStates

pytestmark = pytest.mark.slow

FRAGMENTS = [
    "word ",
    "Word",
    "antidisestablishmentarianism",
    "12,5 % ",
    ". ",
    "? ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    " ",
    "  ",
    "# Heading\n",
    "| a | b |\n",
    "😀",
    "👍🏽",
    "👩\u200d👩\u200d👧\u200d👦",
    "🏳\ufe0f\u200d🌈",
    "🇫🇷🇯🇵",
    "e\u0301",
    "a\u0308\u0323",
    "\u0301",
    "Z\u0351\u0354\u0362a\u0315\u035flgo",
    "क्षत्रिय ",
    "مرحبا بالعالم ",
    "שלום ",
    "我爱你。",
    "한국어 ",
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u00a0",
    "\u2028",
    "\x0c",
    "\x07",
    "ﬁ",
    "Ⅻ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
texts = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=80).map("".join),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=160),
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def tokenize(encoder: TransformerEncoder) -> TransformerEncoder:
    return encoder


def document(text: str, headings: Sequence[int] = ()) -> Document:
    marks = tuple(Heading(1, f"h{i}", start) for i, start in enumerate(sorted(headings)))
    return Document(id="d", source="/r.md", text=text, content_hash="0", headings=marks)


def build(encoder: TransformerEncoder, text: str, name: str, size: int) -> list[Chunk]:
    builder = ChunkBuilder(encoder, ChunkingConfig(chunker=name, chunk_size=size))  # type: ignore[arg-type]
    return builder.build(document(text), vectors=False)


@PROPERTY
@given(text=texts)
def test_token_offsets_are_ordered_and_inside_the_text(
    tokenize: TransformerEncoder, text: str
) -> None:
    tokens = tokenize.tokenize(text)
    starts = [a for a, _ in tokens.offsets]
    assert starts == sorted(starts)
    assert all(0 <= a < b <= len(text) for a, b in tokens.offsets)
    assert len(tokens.ids) == len(tokens.offsets)


@pytest.mark.parametrize("name", CHUNKERS)
@PROPERTY
@given(text=texts, size=st.integers(min_value=8, max_value=40))
def test_chunks_cover_the_text_in_order_and_their_tokens_exactly_once(
    tokenize: TransformerEncoder, name: str, text: str, size: int
) -> None:
    chunks = build(tokenize, text, name, size)
    tokens = tokenize.tokenize(text)
    if not tokens.ids:
        assert chunks == []
        return
    previous_end = 0
    for i, chunk in enumerate(chunks):
        start, end = chunk.char_span
        assert chunk.index == i
        assert previous_end <= start < end <= len(text)  # in order, never overlapping
        assert chunk.text == text[start:end]
        previous_end = end
    spans = [c.token_span for c in chunks]
    assert all(span is not None for span in spans)
    token_spans = [span for span in spans if span is not None]
    # Token spans tile all tokens: contiguous, monotone, from the first to the last.
    assert token_spans[0][0] == 0 and token_spans[-1][1] == len(tokens)
    assert all(a[1] == b[0] for a, b in zip(token_spans, token_spans[1:], strict=False))
    for chunk, (first, last) in zip(chunks, token_spans, strict=True):
        assert 1 <= last - first <= size
        start, end = chunk.char_span
        assert all(start <= a < end for a, _ in tokens.offsets[first:last])  # maps back inside


@pytest.mark.parametrize("name", CHUNKERS)
@PROPERTY
@given(text=texts, size=st.integers(min_value=8, max_value=40))
def test_nothing_but_whitespace_falls_between_chunks(
    tokenize: TransformerEncoder, name: str, text: str, size: int
) -> None:
    chunks = build(tokenize, text, name, size)
    assume(chunks)
    bounds = [0, *(x for c in chunks for x in c.char_span), len(text)]
    gaps = [text[a:b] for a, b in zip(bounds[::2], bounds[1::2], strict=True)]
    for gap in gaps:
        tokens = tokenize.tokenize(gap)
        assert not tokens.ids, f"text with tokens left out of every chunk: {gap!r}"


class ContextFree:
    """A token embedder whose states depend on the token id alone; windows are recorded."""

    name = "context-free"
    dim = 6
    runtime = {"device": "cpu", "precision": "fp32", "backend": "fake"}

    def __init__(self, window: int) -> None:
        self.table = np.random.default_rng(5).normal(size=(31, self.dim))
        self.window = window
        self.fed: list[list[int]] = []

    @property
    def max_tokens(self) -> int:
        return self.window + 2

    @property
    def content_window(self) -> int:
        return self.window

    def tokenize(self, text: str) -> Tokens:
        raise NotImplementedError

    def states(self, ids: Sequence[int]) -> np.ndarray:
        return np.asarray(self.table[[i % len(self.table) for i in ids]])

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        out = []
        for ids in windows:
            self.fed.append(list(ids))
            empty = np.zeros((0, self.dim))
            out.append(WindowStates(head=empty, body=self.states(ids), tail=empty))
        return out

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        raise NotImplementedError


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


@PROPERTY
@given(
    text=texts,
    window=st.integers(min_value=1, max_value=24),
    data=st.data(),
)
def test_late_pooling_across_windows_is_each_chunks_plain_mean(
    tokenize: TransformerEncoder, text: str, window: int, data: st.DataObject
) -> None:
    chunks = build(tokenize, text, "structure", 8)
    assume(chunks)
    tokens = tokenize.tokenize(text)
    overlap = data.draw(st.integers(min_value=0, max_value=window - 1), label="overlap")
    encoder = ContextFree(window)
    late = LateVectorizer(encoder, overlap=overlap, special_tokens="none")  # type: ignore[arg-type]
    spans, vectors = vectorize(late, text, tokens, [c.char_span for c in chunks])
    assert spans == [c.token_span for c in chunks]
    # Every window is a slice of the document's ids within the budget, kept tokens once each.
    windows = macro_windows(len(tokens), window, overlap)
    assert encoder.fed == [list(tokens.ids[w.start : w.end]) for w in windows]
    assert all(1 <= len(ids) <= window for ids in encoder.fed)
    kept = [t for w in windows for t in range(w.keep_from, w.end)]
    assert kept == list(range(len(tokens)))
    states = encoder.states(tokens.ids)
    expected = unit_rows(np.stack([states[a:b].mean(axis=0) for a, b in spans]))
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)


@st.composite
def spans_over(draw: st.DrawFn, n: int) -> list[Span]:
    """Ordered, non-empty, non-overlapping spans over ``n`` tokens, gaps allowed."""
    cuts = sorted({0, n, *draw(st.lists(st.integers(0, n), max_size=12))})
    pairs = list(zip(cuts, cuts[1:], strict=False))
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    chosen = [p for p, k in zip(pairs, keep, strict=True) if k]
    return chosen or pairs[:1]


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    size=st.integers(min_value=1, max_value=64),
    data=st.data(),
)
def test_span_pooler_over_any_windows_is_the_numpy_mean(
    n: int, size: int, data: st.DataObject
) -> None:
    spans = data.draw(spans_over(n), label="spans")
    overlap = data.draw(st.integers(min_value=0, max_value=size - 1), label="overlap")
    rng = np.random.default_rng(n * 1000 + size)
    states = rng.normal(size=(n, 5)) * rng.uniform(0.1, 100)
    pooler = SpanPooler(spans, 5)
    for w in macro_windows(n, size, overlap):
        pooler.add(states[w.keep_from : w.end], w.keep_from)
    expected = unit_rows(np.stack([states[a:b].mean(axis=0) for a, b in spans]))
    np.testing.assert_allclose(pooler.vectors(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pool_spans(states, spans), expected, rtol=1e-5, atol=1e-6)
