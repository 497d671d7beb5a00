"""Work ahead in a background thread, so loading files overlaps embedding the previous ones."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


def prefetch(
    items: Iterable[T],
    work: Callable[[T], R],
    *,
    depth: int = 2,
    errors: tuple[type[Exception], ...] = (),
) -> Iterator[tuple[T, R | Exception]]:
    """Yield ``(item, work(item))`` in order, computing up to ``depth`` results ahead.

    An exception of a type in ``errors`` is yielded in place of the result; any other one
    is raised to the consumer. Stopping the iteration early stops the worker.
    """
    results: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                results.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                try:
                    value: object = (item, work(item))
                except errors as e:
                    value = (item, e)
                if not put(value):
                    return
        except BaseException as e:  # handed to the consumer, which raises it
            put(e)
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="laterag-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            value = results.get()
            if value is _DONE:
                return
            if isinstance(value, BaseException):
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
