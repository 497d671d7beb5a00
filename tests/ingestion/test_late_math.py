"""The late-chunking math on synthetic arrays: no model needed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectorize import vectorize
from word_encoder import FakeEncoder, tokens_of_length

from ingestion.embedding import (
    LateVectorizer,
    SpanPooler,
    macro_windows,
    pool_spans,
    token_spans,
)
from rag.errors import ConfigError, EmbeddingError

DIM = 8


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


def test_token_spans_take_tokens_starting_inside_each_chunk() -> None:
    # "The cat sat. A dog ran." tokens: The cat sat . A dog ran .
    offsets = [(0, 3), (4, 7), (8, 11), (11, 12), (13, 14), (15, 18), (19, 22), (22, 23)]
    assert token_spans(offsets, [(0, 12), (13, 23)]) == [(0, 4), (4, 8)]


def test_token_spans_reject_a_chunk_withouttokens_of_length() -> None:
    with pytest.raises(EmbeddingError, match="holds no token"):
        token_spans([(0, 3), (10, 12)], [(0, 3), (4, 8), (10, 12)])


def test_token_spans_reject_overlapping_chunks() -> None:
    with pytest.raises(EmbeddingError, match="overlap"):
        token_spans([(0, 3), (4, 7)], [(0, 5), (4, 7)])


@given(
    n=st.integers(min_value=1, max_value=2000),
    size=st.integers(min_value=1, max_value=300),
    data=st.data(),
)
def test_macro_windows_keep_every_token_exactly_once(
    n: int, size: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(min_value=0, max_value=size - 1))
    windows = macro_windows(n, size, overlap)
    kept: list[int] = []
    for i, w in enumerate(windows):
        assert w.end - w.start <= size
        assert w.start <= w.keep_from < w.end
        if i:
            assert w.keep_from - w.start == overlap
        kept.extend(range(w.keep_from, w.end))
    assert kept == list(range(n))


def test_macro_windows_follow_the_paper() -> None:
    windows = macro_windows(10, 4, 1)
    assert [(w.start, w.end, w.keep_from) for w in windows] == [
        (0, 4, 0),
        (3, 7, 4),
        (6, 10, 7),
    ]


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (4, 4), (4, -1)])
def test_macro_windows_reject_bad_settings(size: int, overlap: int) -> None:
    with pytest.raises(ConfigError):
        macro_windows(10, size, overlap)


def test_pool_spans_is_the_normalised_mean() -> None:
    rng = np.random.default_rng(0)
    states = rng.normal(size=(10, DIM))
    vectors = pool_spans(states, [(0, 3), (3, 10)])
    np.testing.assert_allclose(vectors[0], _unit(states[0:3].mean(0)), rtol=1e-5)
    np.testing.assert_allclose(vectors[1], _unit(states[3:10].mean(0)), rtol=1e-5)


def test_span_pooler_across_windows_equals_one_pass() -> None:
    rng = np.random.default_rng(1)
    states = rng.normal(size=(50, DIM))
    spans = [(0, 7), (7, 20), (20, 21), (21, 50)]
    pooler = SpanPooler(spans, DIM)
    for w in macro_windows(50, 12, 3):
        pooler.add(states[w.keep_from : w.end], w.keep_from)
    np.testing.assert_allclose(pooler.vectors(), pool_spans(states, spans), rtol=1e-5)


def test_span_pooler_refuses_a_span_it_never_saw() -> None:
    pooler = SpanPooler([(0, 2), (2, 4)], DIM)
    pooler.add(np.ones((2, DIM)), 0)
    with pytest.raises(EmbeddingError, match="no token states"):
        pooler.vectors()


def test_long_late_chunking_equals_one_pass_for_a_context_free_model() -> None:
    encoder = FakeEncoder(context=0.0)
    tokens = tokens_of_length(20)
    chunks = [(0, 5), (5, 13), (13, 20)]
    _, vectors = vectorize(
        LateVectorizer(encoder, overlap=2, special_tokens="none"), "", tokens, chunks
    )
    expected = pool_spans(encoder.table[list(tokens.ids)], chunks)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5)
    assert max(encoder.calls) <= encoder.content_window
    assert len(encoder.calls) == len(macro_windows(20, 6, 2))


def test_paper_rule_gives_first_chunk_the_head_and_last_chunk_the_tail() -> None:
    encoder = FakeEncoder()
    tokens = tokens_of_length(4)
    spans, vectors = vectorize(LateVectorizer(encoder), "", tokens, [(0, 2), (2, 4)])
    table = encoder.table
    assert spans == [(0, 2), (2, 4)]
    np.testing.assert_allclose(vectors[0], _unit(table[[98, 0, 1]].mean(0)), rtol=1e-5)
    np.testing.assert_allclose(vectors[1], _unit(table[[2, 3, 99]].mean(0)), rtol=1e-5)


def test_late_chunk_vectors_carry_document_context() -> None:
    encoder = FakeEncoder(context=1.0)
    chunk = [(0, 3)]
    alone, _ = (
        vectorize(LateVectorizer(encoder, special_tokens="none"), "", tokens_of_length(3), chunk)[
            1
        ],
        0,
    )
    in_doc = vectorize(
        LateVectorizer(encoder, special_tokens="none"), "", tokens_of_length(6), [(0, 3), (3, 6)]
    )
    assert not np.allclose(alone[0], in_doc[1][0])


def test_overlap_must_be_smaller_than_the_window() -> None:
    with pytest.raises(ConfigError):
        vectorize(LateVectorizer(FakeEncoder(), overlap=6), "", tokens_of_length(10), [(0, 10)])
