"""Per-process resources: the encoder and one open ``RAG`` per collection, shared by sessions.

Streamlit runs each session's reruns in its own thread; a ``RAG`` serialises its own store and
model calls (``rag.locking``), so sessions search while another ingests or streams. Opening or
listing a store, which no ``RAG`` guards yet, holds ``rag.locking.OPENING``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st
from pydantic import SecretStr

from ingestion.pipeline import FileResult, IngestReport
from rag.access import Principal
from rag.config import EmbedderConfig, LLMConfig, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.locking import OPENING
from rag.protocols import TokenEmbedder
from rag.sdk import RAG, AnswerStream
from rag.stores import list_collections, open_store
from rag.types import DocumentInfo, document_id
from rag.upload_area import FailedUpload, UploadArea
from rag.uploads import upload_root
from ui.settings import public_config


def build_encoder(config: EmbedderConfig) -> TokenEmbedder:
    """Load the encoder ``config`` names (model None: the bundled MiniLM); tests replace this."""
    return TransformerEncoder(config).load()


@st.cache_resource(show_spinner="Loading the embedding model…")
def shared_encoder(key: str, _config: EmbedderConfig) -> TokenEmbedder:
    """The encoder of ``_config`` (``key`` is its JSON), loaded once per process."""
    return build_encoder(_config)


class Workspace:
    """One collection's open ``RAG``, shared by every session of this process."""

    def __init__(self, rag: RAG) -> None:
        self.rag = rag
        self.uploads = UploadArea(upload_root(rag.config.store))

    @property
    def config(self) -> StoreConfig:
        """Where this collection lives."""
        return self.rag.config.store

    def documents(self, principal: Principal) -> list[DocumentInfo]:
        """The stored documents ``principal`` may read, by file name."""
        docs = self.rag.documents(principal=principal)
        return sorted(docs, key=lambda d: (Path(d.source).name.lower(), d.source))

    def delete(self, info: DocumentInfo, principal: Principal) -> int:
        """Delete one document (an upload: only its owner's) and its uploaded file.

        Returns how many chunks went.
        """
        with self.uploads.hold([info.doc_id]):
            self.uploads.check_may_write(info.source, principal)
            deleted = self.rag.delete(info.doc_id)
            if deleted:
                self.uploads.remove(info.source)
        return deleted

    def failed_uploads(self, principal: Principal) -> list[FailedUpload]:
        """``principal``'s uploads not stored as sent (interrupted or not ingested)."""
        return self.uploads.failed(principal, self.rag.all_documents())

    def discard_upload(self, principal: Principal, name: str) -> int:
        """Delete ``principal``'s failed upload ``name``; returns how many files went."""
        return self.uploads.discard(principal, name, self.rag.all_documents)

    def ingest_uploads(
        self,
        files: Sequence[tuple[Path, bytes]],
        on_result: Callable[[FileResult], None] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Save each (path, bytes) upload and ingest them, holding their documents' locks.

        A delete of one of them runs wholly before the save or after the ingest.
        """
        paths = [path for path, _ in files]
        with self.uploads.hold(document_id(str(path)) for path in paths):
            for path, data in files:
                self.uploads.save(io.BytesIO(data), path)
            return self.ingest(paths, on_result, on_status)

    def ingest(
        self,
        paths: Sequence[Path],
        on_result: Callable[[FileResult], None] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Ingest files with the collection's model and the configured chunking.

        ``on_status`` hears about the search index build that may follow a large ingest.
        """
        return self.rag.ingest(list(paths), on_result, on_status=on_status)

    def stream(self, question: str, k: int, llm: LLMConfig, principal: Principal) -> AnswerStream:
        """Retrieve what ``principal`` may read for ``question``; answer with ``llm`` if set."""
        hits = self.rag.search(question, k, principal=principal)
        return AnswerStream(question, hits, self.rag.generator_with(llm))


@st.cache_resource(show_spinner="Opening the store…")
def open_workspace(key: str, _config: RAGConfig) -> Workspace:
    """Open ``_config``'s collection once per process (``key``: its JSON without secrets).

    Raises ``StoreLockedError`` if another process holds it. The encoder is the configured
    model, else the collection's recorded one, else the bundled one.
    """
    with OPENING:
        store = open_store(_config.store)
        try:
            docs = store.documents() if store.exists() else []
        except Exception:
            store.close()
            raise
    recorded = docs[0].metadata.get("model") if docs else None
    embedder = _config.embedder
    if embedder.model is None and recorded:
        embedder = embedder.model_copy(update={"model": str(recorded)})
    encoder = shared_encoder(embedder.model_dump_json(), embedder)
    return Workspace(RAG(_config, store=store, encoder=encoder))


def workspace_for(config: RAGConfig) -> Workspace:
    """The cached workspace of ``config``'s collection, searched and filled as ``config`` says."""
    return open_workspace(json.dumps(public_config(config), sort_keys=True), config)


@st.cache_data(ttl=10, show_spinner=False)
def collections(path: str, url: str | None, _api_key: str | None) -> list[str]:
    """The store's collection names, refreshed every few seconds."""
    config = StoreConfig(
        path=Path(path), url=url, api_key=SecretStr(_api_key) if _api_key else None
    )
    with OPENING:
        return list_collections(config)
