"""The HNSW search's ef: how many candidates a dense search keeps, or an exact scan."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_edge import EdgeConfig, HnswIndexConfig
from stores.test_scale import chunks_for, unit_rows

from rag.config import StoreConfig
from rag.errors import ConfigError
from rag.stores import open_store
from rag.stores.edge import EdgeStore
from rag.stores.server import ServerStore
from rag.types import SparseVec

K = 10


@pytest.fixture
def weak_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """New embedded collections get a sparse HNSW graph that is always used, never a scan.

    With 4 links per node and a build-time ef of 8, the graph's recall rests on the ef each
    search keeps, so the tests can see whether the setting reaches the engine.
    """
    weak = HnswIndexConfig(m=4, ef_construct=8, full_scan_threshold=1)
    monkeypatch.setattr(
        "rag.stores.edge.EdgeConfig", functools.partial(EdgeConfig, hnsw_config=weak)
    )


def recall(found: list[list[str]], truth: list[set[str]]) -> float:
    return float(np.mean([len(set(f) & t) / K for f, t in zip(found, truth, strict=True)]))


@pytest.mark.usefixtures("weak_graph")
def test_the_configured_ef_decides_how_much_of_the_true_top_k_a_search_finds(
    tmp_path: Path,
) -> None:
    vectors, queries = unit_rows(2000, seed=11), unit_rows(30, seed=12)
    chunks = chunks_for(vectors)
    ids = np.array([c.id for c in chunks])
    truth = [set(ids[np.argsort(-(vectors @ q))[:K]]) for q in queries]
    with EdgeStore(tmp_path / "s", collection="s", indexing_threshold_kb=1) as store:
        store.create_collection(vectors.shape[1])
        store.upsert(chunks)
        assert store.optimize() is True

    def found(hnsw_ef: int) -> tuple[float, float]:
        """Recall@10 of dense and of dense-only hybrid search, the store opened from config."""
        config = StoreConfig(path=tmp_path, collection="s", hnsw_ef=hnsw_ef)
        store = open_store(config)
        try:
            dense = [[h.chunk.id for h in store.search(q, K)] for q in queries]
            no_terms = SparseVec((1,), (1.0,))
            hybrid = [
                [h.chunk.id for h in store.hybrid_search(q, no_terms, K, weights=(1.0, 0.0))]
                for q in queries
            ]
        finally:
            store.close()
        return recall(dense, truth), recall(hybrid, truth)

    narrow, wide, exact = found(1), found(1024), found(0)
    assert exact == (1.0, 1.0)
    assert wide[0] >= 0.95 and wide[1] >= 0.95
    assert narrow[0] < 0.6 and narrow[1] < 0.6


class RecordingClient(QdrantClient):
    """An in-memory client standing in for a server that records each query's arguments."""

    queries: list[dict[str, Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(location=":memory:")

    def query_points(self, *args: Any, **kwargs: Any) -> Any:
        RecordingClient.queries.append(kwargs)
        with warnings.catch_warnings():  # local mode warns that it ignores search params
            warnings.simplefilter("ignore")
            return super().query_points(*args, **kwargs)


@pytest.mark.parametrize(("hnsw_ef", "expected"), [(64, (64, False)), (0, (None, True))])
def test_a_server_search_sends_the_configured_ef_or_asks_for_exact_search(
    monkeypatch: pytest.MonkeyPatch, hnsw_ef: int, expected: tuple[int | None, bool]
) -> None:
    monkeypatch.setattr("rag.stores.server.QdrantClient", RecordingClient)
    RecordingClient.queries = []
    vectors = unit_rows(20, seed=3)
    config = StoreConfig(url="http://qdrant-0:6333", collection="ef", hnsw_ef=hnsw_ef)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode: payload indexes have no effect
        store = open_store(config)
        try:
            store.create_collection(vectors.shape[1])
            store.upsert(chunks_for(vectors))
            assert store.search(vectors[0], 3)[0].score == pytest.approx(1.0, abs=1e-5)
            store.hybrid_search(vectors[0], SparseVec((1,), (1.0,)), 3)
        finally:
            store.close()
    dense, hybrid = RecordingClient.queries
    for params in (dense["search_params"], hybrid["prefetch"][0].params):
        assert (params.hnsw_ef, params.exact) == expected
    assert hybrid["prefetch"][1].params is None  # the sparse side has no graph


def test_a_negative_ef_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hnsw_ef"):
        EdgeStore(tmp_path / "x", hnsw_ef=-1)
    with pytest.raises(ConfigError, match="hnsw_ef"):
        ServerStore(location=":memory:", hnsw_ef=-5)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        StoreConfig(hnsw_ef=-1)
