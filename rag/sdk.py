"""The Python SDK: one ``RAG`` object that ingests, searches, answers and deletes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ingestion.chunk_builder import ChunkBuilder
from ingestion.loaders import load_document
from ingestion.pipeline import FileResult, Ingestor, IngestReport
from rag.config import RAGConfig
from rag.encoders import TransformerEncoder
from rag.generation import generator_for
from rag.protocols import Generator, Retriever, TokenEmbedder, VectorStore
from rag.stores import open_store
from rag.types import Answer, Chunk, DocumentInfo, Hit, SearchFilter, document_id
from retrievers import DenseRetriever


class AnswerStream:
    """Iterate for the answer's text as it arrives; ``answer`` holds the whole when done."""

    def __init__(self, question: str, hits: list[Hit], generator: Generator) -> None:
        self.question = question
        self.hits = hits
        self._generator = generator
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._generator.stream(self.question, self.hits)


class RAG:
    """Late-chunking RAG over one collection; heavy parts load on first use.

    The store opens and the model loads lazily. Without an explicit model, a collection's
    recorded model is used, else the bundled all-MiniLM-L6-v2.
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

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the store."""
        if self._store is not None and self._store_opened:
            self._store.close()
            self._store_opened = False

    @property
    def store(self) -> VectorStore:
        """The open vector store."""
        if self._store is None:
            self._store = open_store(self.config.store)
        if not self._store_opened:
            self._store.open()
            self._store_opened = True
        return self._store

    @property
    def encoder(self) -> TokenEmbedder:
        """The encoder: the configured model, else the collection's, else the bundled one."""
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
        if self._generator is None:
            self._generator = generator_for(self.config.llm, self.encoder)
        return self._generator

    @property
    def retriever(self) -> Retriever:
        """Dense retrieval over the store."""
        return DenseRetriever(self.encoder, self.store)

    def _builder(self) -> ChunkBuilder:
        return ChunkBuilder(self.encoder, self.config.chunking)

    def ingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; unchanged files are skipped, changed ones replaced."""
        return Ingestor(self._builder(), self.store).ingest(paths, on_result)

    def chunks(self, path: str | Path, *, vectors: bool = False) -> list[Chunk]:
        """Preview the chunks (and optionally vectors) a file would get, storing nothing."""
        return self._builder().build(load_document(Path(path)), vectors=vectors)

    def search(
        self, query: str, k: int | None = None, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """Return the chunks nearest to ``query``, best first."""
        return self.retriever.retrieve(query, k or self.config.top_k, search_filter)

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

    def resolve_document(self, doc_id_or_path: str) -> str:
        """Return the document id for an id or a file path (the file need not exist)."""
        if self.store.exists() and self.store.document(doc_id_or_path) is not None:
            return doc_id_or_path
        return document_id(str(Path(doc_id_or_path).expanduser().resolve()))

    def delete(self, doc_id_or_path: str) -> int:
        """Delete a document by id or path; returns how many chunks were removed."""
        if not self.store.exists():
            return 0
        return self.store.delete_document(self.resolve_document(doc_id_or_path))

    def documents(self) -> list[DocumentInfo]:
        """The stored documents."""
        return self.store.documents() if self.store.exists() else []

    def stats(self) -> dict[str, Any]:
        """Counts and settings of the collection."""
        docs = self.documents()
        store = self.config.store
        return {
            "collection": store.collection,
            "backend": "server" if store.url else "embedded",
            "location": store.url or str(store.path),
            "documents": len(docs),
            "chunks": self.store.count() if docs else 0,
            "settings": dict(docs[0].metadata) if docs else {},
        }
