"""Store fixtures: one open store per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.protocols import VectorStore
from rag.stores.edge import EdgeStore
from rag.stores.server import ServerStore

StoreFactory = Callable[[], EdgeStore | ServerStore]


@pytest.fixture(params=["edge", "server"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Make unopened stores of one backend that all see the same data where they can."""
    if request.param == "edge":
        return lambda: EdgeStore(tmp_path / "store" / "default", collection="default")
    return lambda: ServerStore(location=":memory:", collection="default")


@pytest.fixture
def store(store_factory: StoreFactory) -> Iterator[VectorStore]:
    """An open store without a collection; closed after the test."""
    with store_factory() as opened:
        yield opened
