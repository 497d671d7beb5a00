"""Vector stores behind the ``VectorStore`` protocol: an embedded folder or a Qdrant server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.config import StoreConfig
from rag.protocols import VectorStore

if TYPE_CHECKING:
    from rag.stores.edge import EdgeStore
    from rag.stores.server import ServerStore

__all__ = ["list_collections", "open_store"]


def open_store(config: StoreConfig) -> VectorStore:
    """Open the store ``config`` names: a Qdrant server at ``url``, else an embedded folder.

    The embedded store lives in ``config.path / config.collection``. Close the store when
    done, or use it in a with-block (opening again is a no-op). Raises ``StoreLockedError``
    when another process holds the folder and ``StoreError`` when the server is unreachable.
    """
    store: EdgeStore | ServerStore
    # Each backend's client is imported only when used: qdrant-client alone takes seconds.
    if config.url:
        from rag.stores.server import ServerStore

        store = ServerStore(
            config.url,
            api_key=config.api_key,
            collection=config.collection,
            shards=config.shards,
            replication=config.replication,
            write_consistency=config.write_consistency,
            quantization=config.quantization,
            hnsw_ef=config.hnsw_ef,
        )
    else:
        from rag.stores.edge import EdgeStore

        store = EdgeStore(
            config.path / config.collection,
            collection=config.collection,
            quantization=config.quantization,
            hnsw_ef=config.hnsw_ef,
        )
    store.open()
    return store


def list_collections(config: StoreConfig) -> list[str]:
    """Return the sorted collection names of the store ``config`` names (its collection ignored).

    Embedded: the subfolders of ``config.path`` that hold a shard. Server: every collection the
    server has. Raises ``StoreError`` when the server is unreachable.
    """
    if config.url:
        from rag.stores.server import ServerStore

        with ServerStore(config.url, api_key=config.api_key, collection=config.collection) as store:
            return store.collection_names()
    from rag.stores.edge import CONFIG_FILE

    if not config.path.is_dir():
        return []
    return sorted(d.name for d in config.path.iterdir() if (d / CONFIG_FILE).is_file())
