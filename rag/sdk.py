"""The Python SDK: one ``RAG`` object that ingests, searches, answers and deletes.

Every method has an asyncio twin (``aingest``, ``asearch``, ``aask``, ``astream``): the model
and the store run in a worker thread, the LLM request is awaited. One lock serialises use of
the store and the model, so a ``RAG`` may be shared between threads and tasks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingestion.chunk_builder import ChunkBuilder
from ingestion.loaders import load_document
from ingestion.pipeline import FileResult, Ingestor, IngestReport
from rag.config import RAGConfig
from rag.encoders import TransformerEncoder
from rag.encoders.sparse import Bm25Encoder
from rag.errors import RagError
from rag.evaluation.runner import EvalReport
from rag.generation import generator_for
from rag.protocols import Generator, Reranker, Retriever, TextKind, TokenEmbedder, VectorStore
from rag.settings_file import load_config
from rag.stores import open_store
from rag.types import (
    Answer,
    Chunk,
    DocumentInfo,
    Hit,
    SearchFilter,
    Tokens,
    WindowStates,
    document_id,
)
from retrievers import DenseRetriever, HybridRetriever
from retrievers.rerankers import make_reranker


class AnswerStream:
    """Iterate for the answer's text as it arrives; ``answer`` holds the whole when done."""

    def __init__(self, question: str, hits: list[Hit], generator: Generator) -> None:
        self.question = question
        self.hits = hits
        self._generator = generator
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._generator.stream(self.question, self.hits)


class AsyncAnswerStream:
    """Iterate with ``async for`` for the answer's text; ``answer`` holds the whole when done."""

    def __init__(self, question: str, hits: list[Hit], generator: Generator) -> None:
        self.question = question
        self.hits = hits
        self._generator = generator
        self.answer: Answer | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        items = self._generator.astream(self.question, self.hits)
        try:
            async for item in items:
                if isinstance(item, Answer):
                    self.answer = item
                else:
                    yield item
        finally:
            await items.aclose()


class _Locked:
    """An encoder whose every use holds ``lock``: torch models are not safe to share."""

    def __init__(self, encoder: TokenEmbedder, lock: threading.RLock) -> None:
        self._encoder = encoder
        self._lock = lock
        self.name = encoder.name

    @property
    def dim(self) -> int:
        """Size of the vectors."""
        return self._encoder.dim

    @property
    def max_tokens(self) -> int:
        """Positions per forward pass."""
        return self._encoder.max_tokens

    @property
    def content_window(self) -> int:
        """Content tokens in one window."""
        return self._encoder.content_window

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Embed under the lock."""
        with self._lock:
            return self._encoder.embed(texts, kind)

    def tokenize(self, text: str) -> Tokens:
        """Tokenize under the lock."""
        with self._lock:
            return self._encoder.tokenize(text)

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Run the model under the lock."""
        with self._lock:
            return self._encoder.token_states(windows)


class RAG:
    """Late-chunking RAG over one collection; heavy parts load on first use.

    The store opens and the model loads lazily. Without an explicit model, a collection's
    recorded model is used, else the bundled all-MiniLM-L6-v2. Safe to share between threads.
    """

    def __init__(
        self,
        config: RAGConfig | None = None,
        *,
        encoder: TokenEmbedder | None = None,
        store: VectorStore | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.config = config or RAGConfig()
        self._encoder = encoder
        self._store = store
        self._store_opened = False
        self._generator = generator
        self._reranker: Reranker | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_config_file(cls, path: str | Path | None = None, **components: Any) -> RAG:
        """Return a ``RAG`` set up by ``path`` (default ``./laterag.toml``) and ``LATERAG_*``."""
        return cls(load_config(Path(path) if path is not None else None), **components)

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the store."""
        with self._lock:
            if self._store is not None and self._store_opened:
                self._store.close()
                self._store_opened = False

    @property
    def store(self) -> VectorStore:
        """The open vector store."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.config.store)
            if not self._store_opened:
                self._store.open()
                self._store_opened = True
            return self._store

    @property
    def encoder(self) -> TokenEmbedder:
        """The encoder: the configured model, else the collection's, else the bundled one."""
        with self._lock:
            if self._encoder is None:
                settings = self.config.embedder
                if settings.model is None:
                    recorded = self._collection_model()
                    if recorded:
                        settings = settings.model_copy(update={"model": recorded})
                self._encoder = TransformerEncoder(settings).load()
            return self._encoder

    def _collection_model(self) -> str | None:
        if not self.store.exists():
            return None
        for info in self.store.documents():
            model = info.metadata.get("model")
            return str(model) if model else None
        return None

    @property
    def generator(self) -> Generator:
        """The LLM generator when configured, else the extractive one."""
        with self._lock:
            if self._generator is None:
                self._generator = generator_for(self.config.llm, _Locked(self.encoder, self._lock))
            return self._generator

    @property
    def retriever(self) -> Retriever:
        """Dense retrieval over the store, or hybrid (dense + BM25) when configured."""
        settings = self.config.retrieval
        if settings.hybrid:
            return HybridRetriever(
                self.encoder,
                Bm25Encoder(),
                self.store,
                fusion=settings.fusion,
                dense_weight=settings.dense_weight,
                sparse_weight=settings.sparse_weight,
            )
        return DenseRetriever(self.encoder, self.store)

    @property
    def reranker(self) -> Reranker | None:
        """The configured reranker, built on first use; None when hits keep the vector order."""
        with self._lock:
            if self._reranker is None and self.config.rerank.kind != "none":
                self._reranker = make_reranker(
                    self.config.rerank,
                    encoder=_Locked(self.encoder, self._lock),
                    llm=self.config.llm,
                )
            return self._reranker

    def _builder(self) -> ChunkBuilder:
        return ChunkBuilder(self.encoder, self.config.chunking)

    def ingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; unchanged files are skipped, changed ones replaced."""
        with self._lock:
            return Ingestor(self._builder(), self.store).ingest(paths, on_result)

    async def aingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Like ``ingest``, in a worker thread (``on_result`` is called from that thread)."""
        return await asyncio.to_thread(self.ingest, paths, on_result)

    def chunks(self, path: str | Path, *, vectors: bool = False) -> list[Chunk]:
        """Preview the chunks (and optionally vectors) a file would get, storing nothing."""
        with self._lock:
            return self._builder().build(load_document(Path(path)), vectors=vectors)

    def search(
        self, query: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """Return the chunks that best answer ``query``, best first (reranked when configured)."""
        k = k or self.config.top_k
        reranker = self.reranker
        with self._lock:
            if reranker is None:
                return self.retriever.retrieve(query, k, search_filter)
            candidates = max(k, self.config.rerank.candidates)
            hits = self.retriever.retrieve(query, candidates, search_filter)
        return reranker.rerank(query, hits, k)

    async def asearch(
        self, query: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """Like ``search``, with the model and store in a worker thread."""
        return await asyncio.to_thread(self.search, query, k, search_filter)

    def ask(
        self, question: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> Answer:
        """Answer ``question`` from the collection, with citations."""
        hits = self.search(question, k, search_filter)
        return self.generator.generate(question, hits)

    def stream(
        self, question: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> AnswerStream:
        """Like ``ask``, but the answer's text can be read as it is produced."""
        hits = self.search(question, k, search_filter)
        return AnswerStream(question, hits, self.generator)

    async def astream(
        self, question: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> AsyncAnswerStream:
        """Like ``stream``: await it for the stream, then ``async for`` its text deltas."""
        hits = await self.asearch(question, k, search_filter)
        generator = await asyncio.to_thread(lambda: self.generator)
        return AsyncAnswerStream(question, hits, generator)

    async def aask(
        self, question: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> Answer:
        """Like ``ask``; the LLM request is awaited, so many questions can be in flight."""
        stream = await self.astream(question, k, search_filter)
        async for _ in stream:
            pass
        if stream.answer is None:
            raise RagError(f"the answer stream of {self.generator.name} ended without an answer")
        return stream.answer

    def resolve_document(self, doc_id_or_path: str) -> str:
        """Return the document id for an id or a file path (the file need not exist)."""
        with self._lock:
            if self.store.exists() and self.store.document(doc_id_or_path) is not None:
                return doc_id_or_path
        return document_id(str(Path(doc_id_or_path).expanduser().resolve()))

    def delete(self, doc_id_or_path: str) -> int:
        """Delete a document by id or path; returns how many chunks were removed."""
        with self._lock:
            if not self.store.exists():
                return 0
            return self.store.delete_document(self.resolve_document(doc_id_or_path))

    def documents(self) -> list[DocumentInfo]:
        """The stored documents."""
        with self._lock:
            return self.store.documents() if self.store.exists() else []

    def eval(
        self,
        folder: str | Path,
        *,
        k: int = 10,
        every: int = 1,
        on_result: Callable[[FileResult], None] | None = None,
    ) -> EvalReport:
        """Score this configuration's retrieval on an evaluation folder (FinanceBench or BEIR).

        The folder's documents go into a temporary collection; this RAG's own is not touched.
        """
        from rag.evaluation import evaluate

        encoder = self._encoder or TransformerEncoder(self.config.embedder).load()
        return evaluate(
            self.config, Path(folder), k=k, every=every, encoder=encoder, on_result=on_result
        )

    def stats(self) -> dict[str, Any]:
        """Counts and settings of the collection."""
        with self._lock:
            docs = self.documents()
            chunks = self.store.count() if docs else 0
        store = self.config.store
        return {
            "collection": store.collection,
            "backend": "server" if store.url else "embedded",
            "location": store.url or str(store.path),
            "documents": len(docs),
            "chunks": chunks,
            "settings": dict(docs[0].metadata) if docs else {},
        }
