"""Per-process resources: the encoder and one open ``RAG`` per collection, shared by sessions.

Streamlit runs each session's reruns in its own thread, so every use of a store or the model
goes through one process-wide lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import streamlit as st
from pydantic import SecretStr

from ingestion.pipeline import FileResult, IngestReport
from rag.access import Principal
from rag.config import EmbedderConfig, LLMConfig, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.generation import generator_for
from rag.protocols import TokenEmbedder
from rag.sdk import RAG, AnswerStream
from rag.stores import list_collections, open_store
from rag.types import DocumentInfo


def build_encoder(model: str | None) -> TokenEmbedder:
    """Load the encoder named ``model`` (None: the bundled MiniLM); tests replace this."""
    return TransformerEncoder(EmbedderConfig(model=model)).load()


@st.cache_resource(show_spinner="Loading the embedding model…")
def shared_encoder(model: str | None) -> TokenEmbedder:
    """The encoder for ``model``, loaded once per process."""
    return build_encoder(model)


@st.cache_resource(show_spinner=False)
def engine_lock() -> threading.RLock:
    """The lock every store and model call of this process holds."""
    return threading.RLock()


class Workspace:
    """One collection's open ``RAG``; every method holds the process-wide lock."""

    def __init__(self, rag: RAG, lock: threading.RLock) -> None:
        self.rag = rag
        self.lock = lock

    @property
    def config(self) -> StoreConfig:
        """Where this collection lives."""
        return self.rag.config.store

    def documents(self, principal: Principal) -> list[DocumentInfo]:
        """The stored documents ``principal`` may read, by file name."""
        with self.lock:
            docs = self.rag.documents(principal=principal)
        return sorted(docs, key=lambda d: (Path(d.source).name.lower(), d.source))

    def delete(self, doc_id: str) -> int:
        """Delete one document; returns how many chunks went."""
        with self.lock:
            return self.rag.delete(doc_id)

    def ingest(
        self,
        paths: Sequence[Path],
        on_result: Callable[[FileResult], None] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Ingest files with the collection's model and the default chunking.

        ``on_status`` hears about the search index build that may follow a large ingest.
        """
        with self.lock:
            return self.rag.ingest(list(paths), on_result, on_status=on_status)

    def stream(self, question: str, k: int, llm: LLMConfig, principal: Principal) -> AnswerStream:
        """Retrieve what ``principal`` may read for ``question``; answer with ``llm`` if set."""
        with self.lock:
            hits = self.rag.search(question, k, principal=principal)
            generator = generator_for(llm, self.rag.encoder)
        return AnswerStream(question, hits, generator)

    def deltas(self, stream: AnswerStream) -> Iterator[str]:
        """Iterate ``stream`` holding the lock (the extractive generator runs the model)."""
        with self.lock:
            yield from stream


@st.cache_resource(show_spinner="Opening the store…")
def open_workspace(path: str, url: str | None, collection: str, _api_key: str | None) -> Workspace:
    """Open a collection once per process; raises ``StoreLockedError`` if another holds it.

    The encoder is the collection's recorded model, else the bundled one.
    """
    config = StoreConfig(
        path=Path(path),
        url=url,
        api_key=SecretStr(_api_key) if _api_key else None,
        collection=collection,
    )
    lock = engine_lock()
    with lock:
        store = open_store(config)
        try:
            docs = store.documents() if store.exists() else []
        except Exception:
            store.close()
            raise
    model = docs[0].metadata.get("model") if docs else None
    encoder = shared_encoder(str(model) if model else None)
    return Workspace(RAG(RAGConfig(store=config), store=store, encoder=encoder), lock)


def workspace_for(config: StoreConfig) -> Workspace:
    """The cached workspace of ``config``'s collection."""
    key = config.api_key.get_secret_value() if config.api_key else None
    return open_workspace(str(config.path), config.url, config.collection, key)


@st.cache_data(ttl=10, show_spinner=False)
def collections(path: str, url: str | None, _api_key: str | None) -> list[str]:
    """The store's collection names, refreshed every few seconds."""
    config = StoreConfig(
        path=Path(path), url=url, api_key=SecretStr(_api_key) if _api_key else None
    )
    with engine_lock():
        return list_collections(config)
