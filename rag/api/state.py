"""What every route of the HTTP API shares: the RAG, the upload area, the document count."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException

from rag.config import UploadConfig
from rag.sdk import RAG
from rag.upload_area import UploadArea

DEFAULT_MAX_UPLOAD_BYTES = UploadConfig().max_mb * 1024 * 1024
"""The largest ``/ingest`` request body accepted by default (50 MiB)."""


@dataclass
class ApiState:
    """One served collection; ``rag`` is safe to use from every route at once (``rag.locking``).

    ``documents`` is the count of public documents ``/health`` reports and ``collection`` the
    collection's name: refreshed after each ingest and delete, so health never waits for the
    store or the model.
    """

    rag: RAG
    uploads: UploadArea
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    documents: int = 0
    collection: str = ""

    def count_documents(self) -> None:
        """Refresh ``documents`` and ``collection`` from the store."""
        store = self.rag.store
        self.collection = str(getattr(store, "collection", self.rag.config.store.collection))
        self.documents = len(self.rag.documents())

    def require_collection(self) -> None:
        """Raise 404 while the collection does not exist."""
        if not self.rag.store.exists():
            raise HTTPException(
                404, f"collection {self.collection!r} has no documents yet: POST /ingest first"
            )
