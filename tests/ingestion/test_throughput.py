"""Batching across documents, the window cache, bounded work per call, and prefetching."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from word_encoder import WordEncoder

from ingestion.chunk_builder import ChunkBuilder
from ingestion.embedding.window_cache import WindowCache
from ingestion.prefetch import prefetch
from rag.config import ChunkingConfig, EmbedderConfig
from rag.errors import ConfigError, EmbeddingError, LoaderError
from rag.types import Document, WindowStates


def _doc(name: str, words: int, seed: int = 0) -> Document:
    rng = np.random.default_rng(seed)
    text = " ".join(f"w{int(x)}" for x in rng.integers(0, 5000, size=words))
    return Document(id=name, source=name, text=text, content_hash=name + str(seed))


def _builder(
    encoder: WordEncoder, mode: str = "late", cache: WindowCache | None = None
) -> ChunkBuilder:
    settings = ChunkingConfig(mode=mode, chunker="tokens", chunk_size=10)  # type: ignore[arg-type]
    return ChunkBuilder(encoder, settings, cache=cache)


@pytest.mark.parametrize("mode", ["late", "naive", "mixed"])
def test_build_many_matches_build_and_shares_forward_calls(mode: str) -> None:
    docs = [_doc(f"d{i}", 20 + 15 * i, seed=i) for i in range(6)]
    alone = WordEncoder()
    expected = [_builder(alone, mode).build(d) for d in docs]
    together = WordEncoder()
    built = list(_builder(together, mode).build_many(docs))
    assert [d.id for d, _ in built] == [d.id for d in docs]
    for (_, chunks), want in zip(built, expected, strict=True):
        assert isinstance(chunks, list)
        assert [c.id for c in chunks] == [c.id for c in want]
        np.testing.assert_allclose(
            np.array([c.vector for c in chunks]), np.array([c.vector for c in want]), rtol=1e-6
        )
    passes = 2 if mode == "mixed" else 1  # mixed runs the windows, then the chunks alone
    assert len(together.calls) == passes < len(alone.calls)


@pytest.mark.parametrize("weight", [0.3, 0.7])
def test_a_mixed_vector_blends_the_late_and_the_naive_vector_of_its_chunk(weight: float) -> None:
    doc = _doc("d", 95)
    late, naive = (_builder(WordEncoder(), m).build(doc) for m in ("late", "naive"))
    settings = ChunkingConfig(mode="mixed", chunker="tokens", chunk_size=10, late_weight=weight)
    builder = ChunkBuilder(WordEncoder(), settings)
    mixed = builder.build(doc)
    assert [c.id for c in mixed] == [c.id for c in late] == [c.id for c in naive]
    for m, a, b in zip(mixed, late, naive, strict=True):
        blend = weight * a.vector + (1 - weight) * b.vector
        np.testing.assert_allclose(m.vector, blend / np.linalg.norm(blend), rtol=1e-5)
        assert 0.0 < float(m.vector @ a.vector) < 1.0
    assert builder.describe()["late_weight"] == weight
    assert "late_weight" not in _builder(WordEncoder(), "late").describe()


def test_mixed_chunking_refuses_chunks_the_model_would_truncate_alone() -> None:
    settings = ChunkingConfig(mode="mixed", chunker="tokens", chunk_size=40)
    with pytest.raises(ConfigError, match="mixed chunking embeds each chunk alone"):
        ChunkBuilder(WordEncoder(), settings).check()
    with pytest.raises(ValueError, match="late_weight"):
        ChunkingConfig(mode="mixed", late_weight=1.0)


def test_a_document_that_fails_does_not_stop_the_others() -> None:
    encoder = WordEncoder()
    bad = Document(id="bad", source="bad", text="   ", content_hash="x")
    docs = [_doc("a", 30), bad, _doc("b", 40, seed=1)]
    built = dict((d.id, c) for d, c in _builder(encoder).build_many(docs))
    assert built["bad"] == []
    assert isinstance(built["a"], list) and len(built["a"]) == 3
    assert isinstance(built["b"], list) and len(built["b"]) == 4

    class Broken(WordEncoder):
        def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
            raise EmbeddingError("the model failed on a batch")

    results = list(_builder(Broken()).build_many([_doc("a", 30)]))
    assert isinstance(results[0][1], EmbeddingError)


@pytest.mark.parametrize("words", [2_000, 8_000])
def test_work_per_forward_call_does_not_grow_with_the_document(words: int) -> None:
    encoder = WordEncoder()
    ((_, chunks),) = list(_builder(encoder).build_many([_doc("long", words)], lookahead_tokens=512))
    assert isinstance(chunks, list) and len(chunks) == words // 10
    assert max(sum(call) for call in encoder.calls) <= 512


def test_the_window_cache_runs_only_changed_windows(tmp_path: Path) -> None:
    original = _doc("d", 400)
    words = original.text.split()
    words[200] = "changed"  # one token replaced: only the windows holding it change
    edited = Document(id="d", source="d", text=" ".join(words), content_hash="edited")
    cache = WindowCache(tmp_path / "cache.sqlite", 10_000_000, namespace="word-fake")
    first = WordEncoder()
    _builder(first, cache=cache).build(original)
    second = WordEncoder()
    cached = _builder(second, cache=cache).build(edited)
    plain = _builder(WordEncoder()).build(edited)
    assert 1 <= second.windows_run() <= 2 < first.windows_run()
    np.testing.assert_allclose(
        np.array([c.vector for c in cached]), np.array([c.vector for c in plain]), rtol=1e-5
    )
    third = WordEncoder()
    _builder(third, cache=cache).build(edited)
    assert third.windows_run() == 0


def test_the_window_cache_stays_under_its_size_cap(tmp_path: Path) -> None:
    cache = WindowCache(tmp_path / "cache.sqlite", 200_000, namespace="word-fake")
    builder = _builder(WordEncoder(), cache=cache)
    for i in range(8):
        builder.build(_doc(f"d{i}", 2_000, seed=i))
    cache.flush()
    assert 0 < cache.size() <= 200_000


def test_window_cache_is_off_unless_sized(tmp_path: Path) -> None:
    assert WindowCache.for_config(EmbedderConfig()) is None
    cache = WindowCache.for_config(EmbedderConfig(cache_mb=1), tmp_path)
    assert cache is not None and cache.path.parent == tmp_path


def test_prefetch_keeps_order_yields_expected_errors_and_stops_early() -> None:
    def load(n: int) -> int:
        if n == 3:
            raise LoaderError("file3", "broken")
        return n * 10

    out = list(prefetch(range(6), load, errors=(LoaderError,)))
    assert [n for n, _ in out] == list(range(6))
    assert out[2][1] == 20 and isinstance(out[3][1], LoaderError)

    started = threading.active_count()
    items = prefetch(range(1000), lambda n: n, depth=2)
    assert next(items) == (0, 0)
    items.close()
    assert threading.active_count() == started

    with pytest.raises(ZeroDivisionError):
        list(prefetch([1, 0], lambda n: 1 // n))
