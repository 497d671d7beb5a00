"""The locks of one ``RAG``: what is serialised, and for how long.

The embedded Qdrant store, qdrant-client's local mode and a torch model with its tokenizer
are not safe for concurrent use, so every call into the store holds ``EngineLocks.store``
and every call into the model holds ``EngineLocks.model``, each for that one call: a search
waits at most for one store call or one forward pass of at most ``MODEL_LOCK_TOKENS``, never
for a whole ingest, and nothing holds either lock while an LLM streams. A section that must
be seen whole (a document's swap of versions) holds the store lock around its calls.

Writers (an ingest, a delete) go one at a time under ``EngineLocks.write``, which readers
never take. Locks are taken in this order only, so they cannot deadlock: write, then the
``RAG``'s own lock for making its lazy parts, then store, then model (a thread holding the
model lock never calls the store; one holding the store lock never makes a lazy part).
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from rag.protocols import TextKind, TokenEmbedder, VectorStore
from rag.types import Tokens, WindowStates
from rag.vectors import EncoderView

OPENING = threading.RLock()
"""Held while a front end opens or lists a store outside any ``RAG`` (one per process: a
folder's store can be opened once at a time)."""

MODEL_LOCK_TOKENS = 8192
"""Most padded tokens run under one hold of the model lock (the encoder's default batch)."""


class FairLock:
    """A re-entrant lock granted in order of asking.

    A thread that releases and asks again queues behind those already waiting, so a search
    gets the model between two batches of a long ingest (``threading.RLock`` lets the
    releasing thread win again and again).
    """

    def __init__(self) -> None:
        self._state = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._queue: deque[object] = deque()

    @property
    def waiting(self) -> int:
        """How many threads are waiting for the lock."""
        return len(self._queue)

    def held(self) -> bool:
        """True in the thread that holds the lock."""
        return self._owner == threading.get_ident()

    def acquire(self) -> None:
        """Wait for the lock (at once if this thread holds it already)."""
        me = threading.get_ident()
        with self._state:
            if self._owner == me:
                self._depth += 1
                return
            ticket = object()
            self._queue.append(ticket)
            self._state.wait_for(lambda: self._owner is None and self._queue[0] is ticket)
            self._queue.popleft()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        """Release one hold; the next waiter gets the lock after the last one."""
        with self._state:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a lock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._state.notify_all()

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True)
class EngineLocks:
    """The writer, store and model locks of one collection's engine (re-entrant, fair)."""

    write: FairLock = field(default_factory=FairLock)
    store: FairLock = field(default_factory=FairLock)
    model: FairLock = field(default_factory=FairLock)


def padded_groups(sizes: Sequence[int], budget: int = MODEL_LOCK_TOKENS) -> list[list[int]]:
    """Indexes of ``sizes``, longest first, in groups whose padded size fits ``budget``.

    The encoder batches the same way, so running the groups one by one runs the same batches.
    A single item larger than ``budget`` is a group of its own.
    """
    order = sorted(range(len(sizes)), key=lambda i: sizes[i], reverse=True)
    groups: list[list[int]] = []
    for i in order:
        if groups and sizes[groups[-1][0]] * (len(groups[-1]) + 1) <= budget:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


class LockedEncoder(EncoderView):
    """An encoder whose every call holds the model lock; document windows run in groups.

    ``token_states`` takes the lock once per group of at most ``MODEL_LOCK_TOKENS`` padded
    tokens, so a large ingest lets searches embed their queries between its batches.
    """

    def __init__(self, encoder: TokenEmbedder, lock: FairLock) -> None:
        super().__init__(encoder)
        self._lock = lock

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Embed under the lock."""
        with self._lock:
            return self.inner.embed(texts, kind)

    def tokenize(self, text: str) -> Tokens:
        """Tokenize under the lock."""
        with self._lock:
            return self.inner.tokenize(text)

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Run the model over ``windows``, holding the lock for one group at a time."""
        results: list[WindowStates | None] = [None] * len(windows)
        for group in padded_groups([len(w) for w in windows]):
            with self._lock:
                states = self.inner.token_states([windows[i] for i in group])
            for i, state in zip(group, states, strict=True):
                results[i] = state
        return [r for r in results if r is not None]


class LastQueryEncoder(LockedEncoder):
    """A locked encoder remembering its last query: one search embeds the query once.

    The vector search and then the title boost both ask for the query's vector.
    """

    def __init__(self, encoder: TokenEmbedder, lock: FairLock) -> None:
        super().__init__(encoder, lock)
        self._last: tuple[str, np.ndarray] | None = None

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Embed under the lock; a repeat of the last single query is not run again."""
        last = self._last
        if kind == "query" and len(texts) == 1 and last and last[0] == texts[0]:
            return last[1][None, :]
        vectors = super().embed(texts, kind)
        if kind == "query" and len(texts) == 1:
            self._last = (texts[0], vectors[0])
        return vectors


class LockedStore:
    """A store whose every method call holds the store lock; attributes pass through.

    Optional capabilities (``Optimizable``, ``HasVectorSize``, ``KeepsManifest``...) are the
    wrapped store's: ``isinstance`` checks against those protocols see its methods. Results
    are returned whole (lists), so no call leaves the lock with an iterator still reading.
    """

    def __init__(self, store: VectorStore, lock: FairLock) -> None:
        self.__dict__["inner"] = store
        self.__dict__["_lock"] = lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not callable(value):
            return value
        lock = self._lock

        @functools.wraps(value)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with lock:
                result = value(*args, **kwargs)
            if isinstance(result, Iterator):  # read it under the lock too
                with lock:
                    return list(result)
            return result

        return locked

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)

    def __enter__(self) -> LockedStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LockedStore({self.inner!r})"


def locked_store(store: VectorStore, lock: FairLock) -> VectorStore:
    """``store`` with every call under ``lock``, typed as the store it stands for."""
    return cast(VectorStore, LockedStore(store, lock))
