"""Manifest rows in a SQLite file beside an embedded store (or in memory)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import StoreError
from rag.types import ManifestRow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    doc_id TEXT PRIMARY KEY,
    committed TEXT,
    pending TEXT,
    previous TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS collection (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_COLUMNS = "SELECT doc_id, committed, pending, previous FROM sources"


class SqliteRows:
    """The ``ManifestRows`` of one collection in a SQLite file (in memory when ``path`` is None).

    Each write is one SQLite transaction with full sync, so it survives a killed process.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()

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

    def _write(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            try:
                with self._conn:  # one transaction: committed, or rolled back on error
                    self._conn.executemany(sql, rows)
            except sqlite3.Error as e:
                raise StoreError(f"cannot write the manifest {self.path}: {e}") from e

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None and self.path is not None and not self.path.exists():
                return []  # reading never creates the file (nor its folder)
            try:
                return list(self._conn.execute(sql, args))
            except sqlite3.Error as e:
                raise StoreError(f"cannot read the manifest {self.path}: {e}") from e

    @staticmethod
    def _row(row: tuple[Any, ...]) -> ManifestRow:
        doc_id, committed, pending, previous = row
        return ManifestRow(doc_id, committed, pending, tuple(json.loads(previous)))

    def source(self, doc_id: str) -> ManifestRow | None:
        """The row of one document, or None."""
        rows = self._rows(f"{_COLUMNS} WHERE doc_id = ?", doc_id)
        return self._row(rows[0]) if rows else None

    def sources(self, *, unfinished: bool = False) -> list[ManifestRow]:
        """Every row, or only those an interrupted ingest left."""
        where = " WHERE pending IS NOT NULL OR previous != '[]'" if unfinished else ""
        return [self._row(row) for row in self._rows(_COLUMNS + where)]

    def put_source(self, row: ManifestRow) -> None:
        """Write one row in place of the document's old one."""
        self.put_sources([row])

    def put_sources(self, rows: Sequence[ManifestRow]) -> None:
        """Write many rows in one transaction."""
        self._write(
            "INSERT INTO sources (doc_id, committed, pending, previous) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (doc_id) DO UPDATE SET committed = excluded.committed, "
            "pending = excluded.pending, previous = excluded.previous",
            [(r.doc_id, r.committed, r.pending, json.dumps(sorted(r.previous))) for r in rows],
        )

    def drop_source(self, doc_id: str) -> None:
        """Remove a document's row."""
        self._write("DELETE FROM sources WHERE doc_id = ?", [(doc_id,)])

    def value(self, key: str) -> Any:
        """A collection-wide value, or None."""
        rows = self._rows("SELECT value FROM collection WHERE key = ?", key)
        return json.loads(rows[0][0]) if rows else None

    def set_value(self, key: str, value: Any) -> None:
        """Record a collection-wide value."""
        self._write(
            "INSERT INTO collection (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(key, json.dumps(value, sort_keys=True))],
        )
