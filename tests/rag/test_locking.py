"""The locks of ``rag.locking``: short holds, so other threads get in between."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from word_encoder import WordEncoder

from rag.config import ChunkingConfig, RAGConfig
from rag.locking import (
    MODEL_LOCK_TOKENS,
    EngineLocks,
    FairLock,
    LockedEncoder,
    LockedStore,
    padded_groups,
)
from rag.sdk import RAG
from rag.stores.server import ServerStore
from rag.types import Tokens, WindowStates


def test_padded_groups_fit_the_budget_longest_first() -> None:
    sizes = [100, 500, 300, 500, 20]
    groups = padded_groups(sizes, budget=1000)
    assert groups == [[1, 3], [2, 0, 4]]
    for group in groups:
        assert max(sizes[i] for i in group) * len(group) <= 1000
    assert padded_groups([5000], budget=1000) == [[0]]  # too big alone: a group of its own


class _Recorder:
    """An encoder recording the window counts it is given; it checks the lock is held."""

    name = "recorder"
    dim = 2
    max_tokens = 512
    content_window = 510
    runtime = {"device": "cpu", "precision": "fp32", "backend": "fake"}

    def __init__(self, lock: FairLock, between: threading.Event) -> None:
        self.lock = lock
        self.between = between
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        return np.zeros((len(texts), 2), dtype=np.float32)

    def tokenize(self, text: str) -> Tokens:
        return Tokens((), ())

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        assert self.lock.held()
        if self.calls:  # another thread took the lock between two groups
            assert self.between.wait(10)
        else:  # a thread queues for the lock while the first group runs
            threading.Thread(target=self._take_lock).start()
            while not self.lock.waiting:
                threading.Event().wait(0.001)
        self.calls.append(len(windows))
        empty = np.zeros((0, 2))
        return [WindowStates(empty, np.zeros((len(w), 2)), empty) for w in windows]

    def _take_lock(self) -> None:
        with self.lock:
            self.between.set()


def test_a_large_run_releases_the_model_lock_between_batches() -> None:
    locks = EngineLocks()
    inner = _Recorder(locks.model, threading.Event())
    encoder = LockedEncoder(inner, locks.model)  # type: ignore[arg-type]
    windows = [[1] * 512 for _ in range(3 * MODEL_LOCK_TOKENS // 512)]

    states = encoder.token_states(windows)

    assert inner.calls == [MODEL_LOCK_TOKENS // 512] * 3
    assert len(states) == len(windows) and all(s.body.shape == (512, 2) for s in states)


class _Store:
    collection = "c"

    def __init__(self, lock: FairLock) -> None:
        self.lock = lock

    def count(self) -> bool:
        return self.lock.held()

    def export(self) -> object:
        yield self.count()


def test_every_store_call_holds_the_store_lock() -> None:
    lock = FairLock()
    store = LockedStore(_Store(lock), lock)  # type: ignore[arg-type]
    assert store.count() is True
    assert store.export() == [True]  # an iterator is read under the lock
    assert store.collection == "c"
    with pytest.raises(AttributeError):
        store.missing  # noqa: B018


def test_a_fair_lock_goes_to_the_waiting_thread_before_the_releasing_one() -> None:
    lock, order = FairLock(), []
    lock.acquire()

    def wait() -> None:
        with lock:
            order.append("waiter")

    waiter = threading.Thread(target=wait)
    waiter.start()
    while not lock.waiting:
        threading.Event().wait(0.001)
    lock.release()
    with lock:  # asks again at once: queues behind the waiter
        order.append("releaser")
    waiter.join(10)
    assert order == ["waiter", "releaser"]
    with lock, lock:  # re-entrant
        assert lock.held()
    assert not lock.held()
    with pytest.raises(RuntimeError):
        lock.release()


class _Logged(WordEncoder):
    """A fake model logging each forward pass; the first starts a search and lets it queue."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.rag: RAG | None = None
        self.searcher: threading.Thread | None = None

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        self.log.append("batch")
        if self.rag is not None and self.searcher is None:
            rag = self.rag
            self.searcher = threading.Thread(target=lambda: rag.search("plant words", 3))
            self.searcher.start()
            for _ in range(10_000):  # until the search waits for the model
                if rag.locks.model.waiting:
                    break
                threading.Event().wait(0.001)
        return super().token_states(windows)

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        if kind == "query":
            self.log.append("query")
        return super().embed(texts, kind)


def test_a_search_runs_between_two_batches_of_a_large_ingest(tmp_path: Path) -> None:
    encoder = _Logged()
    store = ServerStore(location=":memory:", collection="big")
    chunking = ChunkingConfig(mode="late", chunker="tokens", chunk_size=16)
    with RAG(RAGConfig(chunking=chunking), encoder=encoder, store=store) as rag:
        small, large = tmp_path / "small.txt", tmp_path / "large.txt"
        small.write_text("the office plant is called fern\n")
        large.write_text(" ".join(f"word{i % 997}" for i in range(3 * MODEL_LOCK_TOKENS)))
        assert not rag.ingest([small]).failed
        encoder.rag, encoder.log = rag, []
        assert not rag.ingest([large]).failed
        assert encoder.searcher is not None
        encoder.searcher.join(10)
    assert encoder.log.count("batch") >= 3  # the ingest took the model batch by batch
    assert encoder.log.index("query") == 1  # and the search got it after the first
