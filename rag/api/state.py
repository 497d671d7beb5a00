"""What every route of the HTTP API shares: the RAG, the lock around it, the upload folder."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException

from rag.sdk import RAG

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The largest ``/ingest`` request body accepted by default (50 MiB)."""


@dataclass
class ApiState:
    """One served collection; hold ``lock`` while using ``rag``.

    The embedded store and the torch model are not safe for concurrent use.
    """

    rag: RAG
    upload_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def collection(self) -> str:
        """The served collection's name."""
        return str(getattr(self.rag.store, "collection", self.rag.config.store.collection))

    def require_collection(self) -> None:
        """Raise 404 while the collection does not exist (call with ``lock`` held)."""
        if not self.rag.store.exists():
            raise HTTPException(
                404, f"collection {self.collection!r} has no documents yet: POST /ingest first"
            )
