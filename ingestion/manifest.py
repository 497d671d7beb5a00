"""The manifest of a collection: its ingested sources, their chunk ids and the settings used.

It lives beside the store (``<store path>/<collection>.manifest.sqlite3`` for the embedded
store; in memory for a Qdrant server or ``:memory:`` collection) and is the commit record
that makes an interrupted ingest recoverable: see ``Manifest.recover``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from rag.errors import StoreError
from rag.protocols import LocalStore, VectorStore

logger = logging.getLogger(__name__)

SUFFIX = ".manifest.sqlite3"
"""Ending of the manifest file written beside an embedded store's folder."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    doc_id TEXT PRIMARY KEY,
    committed TEXT,
    pending TEXT,
    previous TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS collection (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


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
    """The sources of one collection, in a SQLite file (or in memory when ``path`` is None).

    Each change is one SQLite transaction, so a process killed at any moment leaves either
    the old row or the new one.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Manifest({str(self.path) if self.path else ':memory:'!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            where = ":memory:" if self.path is None else str(self.path)
            try:
                if self.path is not None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as e:
                raise StoreError(f"cannot open the manifest {where}: {e}") from e
            self._db = db
        return self._db

    def close(self) -> None:
        """Close the SQLite connection (it reopens on next use)."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def _write(self, sql: str, *args: Any) -> None:
        with self._lock:
            try:
                with self._conn:  # one transaction: committed, or rolled back on error
                    self._conn.execute(sql, args)
            except sqlite3.Error as e:
                raise StoreError(f"cannot write the manifest {self.path}: {e}") from e

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, args))
            except sqlite3.Error as e:
                raise StoreError(f"cannot read the manifest {self.path}: {e}") from e

    # -- the collection's settings --------------------------------------------------------

    def _value(self, key: str) -> Any:
        rows = self._rows("SELECT value FROM collection WHERE key = ?", key)
        return json.loads(rows[0][0]) if rows else None

    def _set_value(self, key: str, value: Any) -> None:
        self._write(
            "INSERT INTO collection (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            json.dumps(value, sort_keys=True),
        )

    def settings(self) -> dict[str, Any] | None:
        """The model and chunking settings the collection is built with, if recorded."""
        value = self._value("settings")
        return dict(value) if value is not None else None

    def set_settings(self, settings: dict[str, Any]) -> None:
        """Record the collection's model and chunking settings."""
        self._set_value("settings", settings)

    def reindexing(self) -> bool:
        """True while a re-index has started and not finished."""
        return bool(self._value("reindexing"))

    def set_reindexing(self, on: bool) -> None:
        """Mark a re-index as started (True) or finished (False)."""
        self._set_value("reindexing", on)

    # -- the sources ------------------------------------------------------------------------

    def _record(self, row: tuple[Any, ...]) -> Record:
        doc_id, committed, pending, previous = row
        return Record(
            doc_id,
            Entry.from_json(doc_id, committed) if committed else None,
            Entry.from_json(doc_id, pending) if pending else None,
            tuple(json.loads(previous)),
        )

    def get(self, doc_id: str) -> Record | None:
        """The row of one document, or None."""
        rows = self._rows(
            "SELECT doc_id, committed, pending, previous FROM sources WHERE doc_id = ?", doc_id
        )
        return self._record(rows[0]) if rows else None

    def entries(self) -> list[Entry]:
        """The committed version of every source, ordered by path."""
        rows = self._rows(
            "SELECT doc_id, committed, pending, previous FROM sources WHERE committed IS NOT NULL"
        )
        committed = [r.committed for r in map(self._record, rows) if r.committed]
        return sorted(committed, key=lambda e: (e.path, e.doc_id))

    def unfinished(self) -> list[Record]:
        """Rows an interrupted ingest left: a pending version or ids still to delete."""
        rows = self._rows(
            "SELECT doc_id, committed, pending, previous FROM sources "
            "WHERE pending IS NOT NULL OR previous != '[]'"
        )
        return [self._record(row) for row in rows]

    def begin(self, entry: Entry, previous: Sequence[str]) -> None:
        """Record ``entry`` as being written while the store holds ``previous`` for it."""
        self._write(
            "INSERT INTO sources (doc_id, pending, previous) VALUES (?, ?, ?) "
            "ON CONFLICT (doc_id) DO UPDATE SET pending = excluded.pending, "
            "previous = excluded.previous",
            entry.doc_id,
            entry.to_json(),
            json.dumps(sorted(previous)),
        )

    def commit(self, doc_id: str) -> None:
        """Make the pending version the committed one: the point of no return of a swap."""
        self._write(
            "UPDATE sources SET committed = pending, pending = NULL "
            "WHERE doc_id = ? AND pending IS NOT NULL",
            doc_id,
        )

    def adopt(self, entry: Entry) -> None:
        """Record a version found complete in the store (written before there was a manifest)."""
        self._write(
            "INSERT INTO sources (doc_id, committed) VALUES (?, ?) "
            "ON CONFLICT (doc_id) DO UPDATE SET committed = excluded.committed, pending = NULL, "
            "previous = '[]'",
            entry.doc_id,
            entry.to_json(),
        )

    def settle(self, doc_id: str) -> None:
        """Forget the pending version and leftover ids; drop the row if nothing is committed."""
        with self._lock:  # either order of the two is a state recovery can finish from
            self._write("DELETE FROM sources WHERE doc_id = ? AND committed IS NULL", doc_id)
            self._write(
                "UPDATE sources SET pending = NULL, previous = '[]' WHERE doc_id = ?", doc_id
            )

    def forget(self, doc_id: str) -> None:
        """Drop a document's row (after deleting its chunks)."""
        self._write("DELETE FROM sources WHERE doc_id = ?", doc_id)

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
    """Return the manifest of ``store``'s collection: a file beside an embedded store's folder.

    A Qdrant server collection gets one in memory, for as long as the caller keeps it.
    """
    if isinstance(store, LocalStore):
        return Manifest(store.folder.parent / f"{store.folder.name}{SUFFIX}")
    return Manifest(None)
