"""Ingest a folder into a server collection: qdrant-client's local mode in a folder stands in.

Run by ``test_server_crash_safety.py`` as ``python server_ingest.py CORPUS FOLDER COLLECTION
CHUNK_SIZE``. Like
``rag ingest`` it reports each file on stderr (``ingested PATH``); it also says
``pending PATH`` as soon as a document's pending row is on the server, so the test can
kill it while that document's chunks are being written.
"""

from __future__ import annotations

import sys

from rag import RAG, ChunkingConfig, RAGConfig
from rag.protocols import ManifestRows
from rag.stores.server import ServerStore
from rag.types import ManifestRow


class AnnouncedRows:
    """Manifest rows that announce each pending version once it is written."""

    def __init__(self, rows: ManifestRows) -> None:
        self._rows = rows

    def __getattr__(self, name: str) -> object:
        return getattr(self._rows, name)

    def put_source(self, row: ManifestRow) -> None:
        self._rows.put_source(row)
        if row.pending is not None:
            print(f"pending {row.pending}", file=sys.stderr, flush=True)


class AnnouncingStore(ServerStore):
    """The local-mode server store, its manifest rows announced."""

    def manifest_rows(self) -> AnnouncedRows:  # type: ignore[override]
        return AnnouncedRows(super().manifest_rows())


def main(corpus: str, folder: str, collection: str, chunk_size: int) -> None:
    store = AnnouncingStore(path=folder, collection=collection)
    config = RAGConfig(chunking=ChunkingConfig(chunk_size=chunk_size))
    with RAG(config, store=store) as rag:
        rag.ingest(
            [corpus],
            on_result=lambda r: print(f"{r.status} {r.path}", file=sys.stderr, flush=True),
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
