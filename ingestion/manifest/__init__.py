"""The manifest of a collection: its ingested sources, their chunk ids and the settings used.

It is the commit record that makes an interrupted ingest recoverable (see
``Manifest.recover``), and it lives where the collection does: a SQLite file beside an
embedded store (``<store path>/<collection>.manifest.sqlite3``), a companion collection on a
Qdrant server (``rag.stores.server_manifest``). Both keep their rows behind the
``ManifestRows`` protocol.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from ingestion.manifest.sqlite import SqliteRows
from rag.protocols import KeepsManifest, LocalStore, ManifestRows, VectorStore
from rag.types import ManifestRow

logger = logging.getLogger(__name__)

SUFFIX = ".manifest.sqlite3"
"""Ending of the manifest file written beside an embedded store's folder."""


@dataclass(frozen=True)
class Entry:
    """One version of one ingested source: where it came from and the chunks it became."""

    doc_id: str
    path: str
    content_hash: str
    chunk_ids: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        """The embedding model the chunks were made with."""
        model = self.settings.get("model")
        return str(model) if model is not None else None

    def to_json(self) -> str:
        """Serialise for the manifest table."""
        return json.dumps(
            {
                "path": self.path,
                "content_hash": self.content_hash,
                "chunk_ids": list(self.chunk_ids),
                "settings": self.settings,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, doc_id: str, text: str) -> Entry:
        """Read back what ``to_json`` wrote."""
        data = json.loads(text)
        return cls(
            doc_id,
            str(data["path"]),
            str(data["content_hash"]),
            tuple(data["chunk_ids"]),
            dict(data["settings"]),
        )


@dataclass(frozen=True)
class Record:
    """A source's row: its committed version, a version being written, and leftover ids.

    ``previous`` holds the ids the store had for the document when ``pending`` began; once
    the pending version commits, those not in it are deleted and ``previous`` is emptied.
    """

    doc_id: str
    committed: Entry | None
    pending: Entry | None
    previous: tuple[str, ...]


class Manifest:
    """The sources of one collection: a document's versions and the collection's settings.

    ``rows`` is where they are kept: a ``ManifestRows``, or a SQLite file path (None: in
    memory). Each change is one atomic row write, so a process killed at any moment leaves
    either the old row or the new one.
    """

    def __init__(self, rows: ManifestRows | Path | None) -> None:
        self.rows: ManifestRows = rows if isinstance(rows, ManifestRows) else SqliteRows(rows)
        self._lock = threading.RLock()

    @property
    def path(self) -> Path | None:
        """The SQLite file of an embedded store's manifest (None elsewhere)."""
        return self.rows.path if isinstance(self.rows, SqliteRows) else None

    def __repr__(self) -> str:
        where = str(self.path) if self.path else type(self.rows).__name__
        return f"Manifest({where!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the rows' connection (it reopens on next use)."""
        self.rows.close()

    # -- the collection's settings --------------------------------------------------------

    def settings(self) -> dict[str, Any] | None:
        """The model and chunking settings the collection is built with, if recorded."""
        value = self.rows.value("settings")
        return dict(value) if value is not None else None

    def set_settings(self, settings: dict[str, Any]) -> None:
        """Record the collection's model and chunking settings."""
        self.rows.set_value("settings", settings)

    def reindexing(self) -> bool:
        """True while a re-index has started and not finished."""
        return bool(self.rows.value("reindexing"))

    def set_reindexing(self, on: bool) -> None:
        """Mark a re-index as started (True) or finished (False)."""
        self.rows.set_value("reindexing", on)

    # -- the sources ------------------------------------------------------------------------

    @staticmethod
    def _record(row: ManifestRow) -> Record:
        return Record(
            row.doc_id,
            Entry.from_json(row.doc_id, row.committed) if row.committed else None,
            Entry.from_json(row.doc_id, row.pending) if row.pending else None,
            row.previous,
        )

    def get(self, doc_id: str) -> Record | None:
        """The row of one document, or None."""
        row = self.rows.source(doc_id)
        return self._record(row) if row else None

    def entries(self) -> list[Entry]:
        """The committed version of every source, ordered by path."""
        committed = [r.committed for r in map(self._record, self.rows.sources()) if r.committed]
        return sorted(committed, key=lambda e: (e.path, e.doc_id))

    def unfinished(self) -> list[Record]:
        """Rows an interrupted ingest left: a pending version or ids still to delete."""
        return [self._record(row) for row in self.rows.sources(unfinished=True)]

    def begin(self, entry: Entry, previous: Sequence[str]) -> None:
        """Record ``entry`` as being written while the store holds ``previous`` for it."""
        with self._lock:
            row = self.rows.source(entry.doc_id)
            committed = row.committed if row else None
            self.rows.put_source(
                ManifestRow(entry.doc_id, committed, entry.to_json(), tuple(sorted(previous)))
            )

    def commit(self, doc_id: str) -> None:
        """Make the pending version the committed one: the point of no return of a swap."""
        with self._lock:
            row = self.rows.source(doc_id)
            if row is not None and row.pending is not None:
                self.rows.put_source(ManifestRow(doc_id, row.pending, None, row.previous))

    def adopt(self, entry: Entry) -> None:
        """Record a version found complete in the store (written before there was a manifest)."""
        self.rows.put_source(ManifestRow(entry.doc_id, entry.to_json(), None))

    def settle(self, doc_id: str) -> None:
        """Forget the pending version and leftover ids; drop the row if nothing is committed."""
        with self._lock:
            row = self.rows.source(doc_id)
            if row is None:
                return
            if row.committed is None:
                self.rows.drop_source(doc_id)
            elif row.unfinished:
                self.rows.put_source(ManifestRow(doc_id, row.committed, None))

    def forget(self, doc_id: str) -> None:
        """Drop a document's row (after deleting its chunks)."""
        self.rows.drop_source(doc_id)

    def copy_to(self, other: Manifest) -> None:
        """Write every row and setting of this manifest into ``other`` (a copied collection)."""
        other.rows.put_sources(self.rows.sources())
        for key in ("settings", "reindexing"):
            value = self.rows.value(key)
            if value is not None:
                other.rows.set_value(key, value)

    def recover(self, store: VectorStore) -> int:
        """Finish or undo what an interrupted ingest left, so only whole versions stay visible.

        A version that never committed loses the chunks it added (the old version stays); a
        committed one loses the old version's leftover chunks. Returns the chunks deleted.
        """
        deleted = 0
        for record in self.unfinished():
            previous = set(record.previous)
            if record.pending is not None:
                doomed = set(record.pending.chunk_ids) - previous
                logger.warning(
                    "undoing the interrupted ingest of %s (%d chunks)",
                    record.pending.path,
                    len(doomed),
                )
            else:
                kept = set(record.committed.chunk_ids) if record.committed else set()
                doomed = previous - kept
            store.delete_points(sorted(doomed))
            self.settle(record.doc_id)
            deleted += len(doomed)
        return deleted


def manifest_for(store: VectorStore) -> Manifest:
    """Return the manifest of ``store``'s collection, kept where the collection is.

    An embedded store's is a SQLite file beside its folder; a store that keeps one itself (a
    Qdrant server collection) gives its own rows; any other store gets one in memory.
    """
    if isinstance(store, LocalStore):
        return Manifest(store.folder.parent / f"{store.folder.name}{SUFFIX}")
    if isinstance(store, KeepsManifest):
        return Manifest(store.manifest_rows())
    return Manifest(None)
