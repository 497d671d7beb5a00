"""``list_collections``: the picker's names, from a store folder or a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import StoreConfig
from rag.errors import StoreError
from rag.stores import list_collections
from rag.stores.edge import EdgeStore


def test_embedded_lists_only_folders_holding_a_shard(tmp_path: Path) -> None:
    for name in ("beta", "alpha"):
        with EdgeStore(tmp_path / name) as store:
            store.create_collection(4)
    (tmp_path / "uploads" / "alpha").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("not a collection")
    assert list_collections(StoreConfig(path=tmp_path)) == ["alpha", "beta"]
    assert list_collections(StoreConfig(path=tmp_path / "missing")) == []


def test_unreachable_server_is_a_store_error() -> None:
    config = StoreConfig(url="http://127.0.0.1:9")
    with pytest.raises(StoreError, match="cannot reach Qdrant at http://127.0.0.1:9"):
        list_collections(config)
