"""An on-disk cache of pooled window sums, so content seen before is never run twice.

A late-chunked window's contribution to its chunks depends only on the model and settings,
the window's token ids, which of its outputs are kept, where the chunk cuts fall inside it
and whether it carries the document's special tokens. The cache keys on exactly that and
stores, per chunk piece, the sum and count of the kept token states (a few kB per window),
so re-ingesting a document re-runs only the windows whose content or cuts changed.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.config import EmbedderConfig, default_cache_dir

logger = logging.getLogger(__name__)

DEFAULT_FILE = "windows.sqlite"


class WindowCache:
    """Sums per window in SQLite, capped at ``max_bytes``; the least recently used go first."""

    def __init__(self, path: Path, max_bytes: int, namespace: str) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.namespace = namespace
        self._lock = threading.Lock()
        self._clock = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS windows "
            "(key TEXT PRIMARY KEY, rows INTEGER, value BLOB, used INTEGER)"
        )
        self._clock = self._db.execute("SELECT COALESCE(MAX(used), 0) FROM windows").fetchone()[0]

    @classmethod
    def for_config(cls, config: EmbedderConfig, folder: Path | None = None) -> WindowCache | None:
        """The cache for an embedder's settings, or None when ``cache_mb`` is 0."""
        if not config.cache_mb:
            return None
        namespace = config.model_dump_json(
            include={"model", "max_tokens", "document_prefix", "precision", "backend"}
        )
        path = (folder or default_cache_dir()) / DEFAULT_FILE
        return cls(path, config.cache_mb * 1024 * 1024, namespace)

    def key(
        self,
        ids: Sequence[int],
        keep_offset: int,
        cuts: Sequence[tuple[int, int]],
        first: bool,
        last: bool,
    ) -> str:
        """Digest of everything a window's pooled sums depend on, under this cache's settings."""
        digest = hashlib.sha256(self.namespace.encode())
        digest.update(np.asarray(ids, dtype=np.int64).tobytes())
        digest.update(np.asarray([keep_offset, first, last], dtype=np.int64).tobytes())
        digest.update(np.asarray(cuts, dtype=np.int64).tobytes())
        return digest.hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        """The stored sums of ``key``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT rows, value FROM windows WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            self._clock += 1
            self._db.execute("UPDATE windows SET used = ? WHERE key = ?", (self._clock, key))
        rows, blob = row
        return np.frombuffer(blob, dtype=np.float32).reshape(rows, -1).astype(np.float64)

    def put(self, key: str, sums: np.ndarray) -> None:
        """Store the sums of ``key``, evicting the least recently used beyond the cap."""
        blob = np.ascontiguousarray(sums, dtype=np.float32).tobytes()
        with self._lock:
            self._clock += 1
            self._db.execute(
                "INSERT OR REPLACE INTO windows VALUES (?, ?, ?, ?)",
                (key, len(sums), blob, self._clock),
            )
            if self._clock % 64 == 0:
                self._evict()

    def size(self) -> int:
        """Bytes of stored sums."""
        with self._lock:
            return int(
                self._db.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM windows").fetchone()[
                    0
                ]
            )

    def _evict(self) -> None:
        total = self._db.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM windows").fetchone()[
            0
        ]
        if total <= self.max_bytes:
            return
        goal = total - int(self.max_bytes * 0.9)
        freed = 0
        victims: list[str] = []
        for key, size in self._db.execute(
            "SELECT key, LENGTH(value) FROM windows ORDER BY used"
        ).fetchall():
            if freed >= goal:
                break
            victims.append(key)
            freed += size
        self._db.executemany("DELETE FROM windows WHERE key = ?", [(k,) for k in victims])
        logger.debug("window cache: evicted %d windows (%d bytes)", len(victims), freed)

    def flush(self) -> None:
        """Apply the size cap now."""
        with self._lock:
            self._evict()

    def close(self) -> None:
        """Apply the size cap and close the database."""
        self.flush()
        with self._lock:
            self._db.close()
