"""Vector stores behind the ``VectorStore`` protocol: an embedded folder or a Qdrant server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.config import StoreConfig
from rag.protocols import VectorStore

if TYPE_CHECKING:
    from rag.stores.edge import EdgeStore
    from rag.stores.server import ServerStore

__all__ = ["open_store"]


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

        store = ServerStore(config.url, api_key=config.api_key, collection=config.collection)
    else:
        from rag.stores.edge import EdgeStore

        store = EdgeStore(config.path / config.collection, collection=config.collection)
    store.open()
    return store
