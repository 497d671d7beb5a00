"""What every route of the HTTP API shares: the RAG, the upload folder, the document count."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException

from rag.sdk import RAG

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The largest ``/ingest`` request body accepted by default (50 MiB)."""


@dataclass
class ApiState:
    """One served collection; ``rag`` is safe to use from every route at once (``rag.locking``).

    ``documents`` is the count of public documents ``/health`` reports: refreshed after each
    ingest and delete, so health never waits for the store.
    """

    rag: RAG
    upload_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    documents: int = 0

    def count_documents(self) -> None:
        """Refresh ``documents`` from the store."""
        self.documents = len(self.rag.documents())

    @property
    def collection(self) -> str:
        """The served collection's name."""
        return str(getattr(self.rag.store, "collection", self.rag.config.store.collection))

    def require_collection(self) -> None:
        """Raise 404 while the collection does not exist."""
        if not self.rag.store.exists():
            raise HTTPException(
                404, f"collection {self.collection!r} has no documents yet: POST /ingest first"
            )
