"""The Python SDK: one ``RAG`` object that ingests, searches, answers and deletes.

Every method has an asyncio twin (``aingest``, ``asearch``, ``aask``, ``astream``): the model
and the store run in a worker thread, the LLM request is awaited. A ``RAG`` may be shared
between threads and tasks: each store call and each forward pass holds its lock
(``rag.locking``), writers go one at a time, and no lock is held while an LLM answers.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ingestion.chunk_builder import ChunkBuilder
from ingestion.embedding.window_cache import WindowCache
from ingestion.executors.ray_cluster import RayExecutor, RayPool
from ingestion.loaders import load_document
from ingestion.manifest import Manifest, manifest_for
from ingestion.pipeline import FileResult, Ingestor, IngestReport
from rag.access import Access, Principal, scoped, visible
from rag.config import ChunkingConfig, EmbedderConfig, LLMConfig, RAGConfig
from rag.config_file import load_config
from rag.encoders import TransformerEncoder
from rag.encoders.sparse import Bm25Encoder
from rag.errors import ConfigError, RagError
from rag.generation import generator_for
from rag.generation.openai_chat import OpenAIChatGenerator
from rag.locking import EngineLocks, LastQueryEncoder, LockedEncoder, locked_store
from rag.protocols import (
    ChatModel,
    Generator,
    HasVectorSize,
    IngestExecutor,
    Optimizable,
    Progress,
    Reranker,
    Retriever,
    TokenEmbedder,
    VectorStore,
)
from rag.redact import masked_url
from rag.stores import open_store
from rag.text import check_text
from rag.types import (
    Answer,
    Chunk,
    DocumentInfo,
    Hit,
    SearchFilter,
    document_id,
)
from rag.vectors import fit_dims
from retrievers.dense import DenseRetriever
from retrievers.exact_terms import ExactTermRetriever
from retrievers.hybrid import HybridRetriever
from retrievers.per_page import PerPageRetriever
from retrievers.query_expansion import ExpandedRetriever
from retrievers.rerankers import make_reranker
from retrievers.title_boost import TitleBoostedRetriever, TitleVectors


class AnswerStream:
    """Iterate for the answer's text as it arrives; ``answer`` holds the whole when done."""

    def __init__(
        self, question: str, hits: list[Hit], generator: Generator, instructions: str = ""
    ) -> None:
        self.question = question
        self.hits = hits
        self.instructions = instructions
        self._generator = generator
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        stream = self._generator.stream(self.question, self.hits, instructions=self.instructions)
        self.answer = yield from stream


class AsyncAnswerStream:
    """Iterate with ``async for`` for the answer's text; ``answer`` holds the whole when done."""

    def __init__(
        self, question: str, hits: list[Hit], generator: Generator, instructions: str = ""
    ) -> None:
        self.question = question
        self.hits = hits
        self.instructions = instructions
        self._generator = generator
        self.answer: Answer | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        items = self._generator.astream(self.question, self.hits, instructions=self.instructions)
        try:
            async for item in items:
                if isinstance(item, Answer):
                    self.answer = item
                else:
                    yield item
        finally:
            await items.aclose()


def actor_builder(embedder: EmbedderConfig, chunking: ChunkingConfig, dims: int) -> ChunkBuilder:
    """The chunk builder of a Ray model actor: its own encoder (cut to ``dims``), BM25, cache."""
    encoder = fit_dims(TransformerEncoder(embedder).load(), dims, None)
    cache = WindowCache.for_config(embedder)
    return ChunkBuilder(encoder, chunking, Bm25Encoder(), cache=cache)


def given_builder(encoder: TokenEmbedder, chunking: ChunkingConfig) -> ChunkBuilder:
    """The chunk builder of a Ray model actor around an encoder given to ``RAG`` (pickled)."""
    return ChunkBuilder(encoder, chunking, Bm25Encoder())


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
        self._encoder_given = encoder is not None
        self._ray_pool: RayPool | None = None
        self._encoder_sized = False
        self.locks = EngineLocks()
        self._store = locked_store(store, self.locks.store) if store is not None else None
        self._store_opened = False
        self._manifest: Manifest | None = None
        self._generator = generator
        self._reranker: Reranker | None = None
        self._chat_model: ChatModel | None = None
        self._titles: TitleVectors | None = None
        self._locked: LockedEncoder | None = None
        self._lock = threading.RLock()  # held while a lazy part is made, never while it is used

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
        with self.locks.write, self._lock:
            if self._store is not None and self._store_opened:
                self._store.close()
                self._store_opened = False
            if self._manifest is not None:
                self._manifest.close()
                self._manifest = None
            if self._ray_pool is not None:
                self._ray_pool.close()
                self._ray_pool = None

    @property
    def store(self) -> VectorStore:
        """The open vector store; each of its calls holds ``locks.store``."""
        with self._lock:
            if self._store is None:
                self._store = locked_store(open_store(self.config.store), self.locks.store)
            if not self._store_opened:
                self._store.open()
                self._store_opened = True
                # Undo or finish an interrupted ingest before anything can be searched.
                self._manifest = manifest_for(self._store)
                self._manifest.recover(self._store)
            return self._store

    @property
    def manifest(self) -> Manifest:
        """The collection's record of ingested sources, chunk ids and settings."""
        with self._lock:
            store = self.store
            if self._manifest is None:
                self._manifest = manifest_for(store)
            return self._manifest

    @property
    def encoder(self) -> TokenEmbedder:
        """The encoder: the configured model, else the collection's, else the bundled one.

        With the Ray executor it runs on the CPU here; the model actors use the device.
        """
        with self._lock:
            if self._encoder is None:
                settings = self.config.embedder
                if self.config.ingest.executor == "ray":  # the actors run it on the device
                    settings = settings.model_copy(update={"device": "cpu"})
                if settings.model is None:
                    recorded = self._collection_model()
                    if recorded:
                        settings = settings.model_copy(update={"model": recorded})
                self._encoder = TransformerEncoder(settings).load()
            if not self._encoder_sized:  # Matryoshka dims: configured, else the collection's
                store = self.store
                stored = store.vector_size() if isinstance(store, HasVectorSize) else None
                self._encoder = fit_dims(self._encoder, self.config.embedder.dims, stored)
                self._encoder_sized = True
            return self._encoder

    @property
    def locked_encoder(self) -> TokenEmbedder:
        """``encoder`` with each call holding ``locks.model``: what every part of this RAG uses."""
        with self._lock:
            if self._locked is None:
                self._locked = LockedEncoder(self.encoder, self.locks.model)
            return self._locked

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
                self._generator = self.generator_with(self.config.llm)
            return self._generator

    def generator_with(self, llm: LLMConfig) -> Generator:
        """A generator answering with ``llm`` when it names an endpoint, else extractive."""
        return generator_for(llm, self.locked_encoder)

    @property
    def retriever(self) -> Retriever:
        """Dense retrieval over the store, or hybrid (dense + BM25) when configured."""
        return self._retriever(self.locked_encoder)

    def _retriever(self, encoder: TokenEmbedder) -> Retriever:
        settings = self.config.retrieval
        if settings.hybrid:
            return HybridRetriever(
                encoder,
                Bm25Encoder(),
                self.store,
                fusion=settings.fusion,
                dense_weight=settings.dense_weight,
                sparse_weight=settings.sparse_weight,
            )
        return DenseRetriever(encoder, self.store)

    def _searcher(self) -> Retriever:
        """The retriever that ``search`` uses: ``retriever`` boosted and grouped.

        A query mode other than plain puts the LLM's query writing in front of it.
        """
        settings = self.config.retrieval
        queries = LastQueryEncoder(self.encoder, self.locks.model)
        retriever = self._retriever(queries)
        if settings.exact_weight > 0:
            retriever = ExactTermRetriever(retriever, settings.exact_weight)
        if settings.title_weight > 0:
            with self._lock:
                if self._titles is None:
                    self._titles = TitleVectors(self.locked_encoder)
            retriever = TitleBoostedRetriever(
                retriever, self._titles, settings.title_weight, queries=queries
            )
        if settings.per_page:
            retriever = PerPageRetriever(retriever, settings.per_page)
        if settings.query_mode == "plain":
            return retriever
        if self._chat() is None:
            raise ConfigError(
                f"query mode {settings.query_mode!r} needs an LLM: set both the LLM base URL "
                "and model, or use the plain query mode"
            )
        return ExpandedRetriever(
            retriever,
            self.chat_model,
            settings.query_mode,
            variants=settings.query_variants,
            rounds=settings.rounds,
        )

    @property
    def reranker(self) -> Reranker | None:
        """The configured reranker, built on first use; None when hits keep the vector order."""
        with self._lock:
            if self._reranker is None and self.config.rerank.kind != "none":
                self._reranker = make_reranker(
                    self.config.rerank,
                    encoder=self.locked_encoder,
                    chat=self._chat(),
                )
            return self._reranker

    @property
    def chat_model(self) -> ChatModel:
        """The configured LLM for query modes and reranking; ``ConfigError`` when none is set."""
        chat = self._chat()
        if chat is None:
            raise ConfigError("no LLM is configured: set both the LLM base URL and model")
        return chat

    def _chat(self) -> ChatModel | None:
        with self._lock:
            if self._chat_model is None and self.config.llm.enabled:
                self._chat_model = OpenAIChatGenerator(self.config.llm)
            return self._chat_model

    def _builder(self, access: Access | None = None) -> ChunkBuilder:
        tags = access.tags() if access is not None else None
        cache = WindowCache.for_config(self.config.embedder)
        return ChunkBuilder(
            self.locked_encoder, self.config.chunking, Bm25Encoder(), access=tags, cache=cache
        )

    def _executor(self, access: Access | None) -> IngestExecutor | None:
        """The Ray executor when ``[ingest] executor = "ray"``, else None (this process)."""
        settings = self.config.ingest
        if settings.executor == "local":
            return None
        if self._ray_pool is None:
            encoder = self.encoder
            factory: Any
            if self._encoder_given:
                factory = functools.partial(given_builder, encoder, self.config.chunking)
            else:
                threads = self.config.embedder.threads or max(1, int(settings.ray_cpus))
                embedder = self.config.embedder.model_copy(
                    update={"model": encoder.name, "threads": threads}
                )
                factory = functools.partial(
                    actor_builder, embedder, self.config.chunking, encoder.dim
                )
            self._ray_pool = RayPool(
                factory,
                address=settings.ray_address,
                actors=settings.ray_actors,
                cpus=settings.ray_cpus,
                gpus=_wants_gpus(self.config.embedder.device),
            )
        return RayExecutor(self._ray_pool, access.tags() if access is not None else None)

    def ingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
        *,
        access: Access | None = None,
        reindex: bool = False,
        on_status: Progress | None = None,
    ) -> IngestReport:
        """Ingest files and folders; unchanged files are skipped, changed ones replaced.

        ``access`` names the users and groups that may read them (None or empty: public); a
        file re-ingested with another rule is replaced. Other model or chunking settings than
        the collection's raise ``ConfigError`` unless ``reindex``: then the files are
        re-chunked and the collection's documents still built the old way are removed.
        Then the search index is built if the collection outgrew a full scan (``optimize``).
        With ``[ingest] executor = "ray"``, loading, chunking and embedding run on a Ray
        cluster and this process writes the store, through the same manifest. One ingest or
        delete runs at a time; searches go on meanwhile and see each document's old version
        or its new one, whole.
        """
        with self.locks.write:
            ingestor = Ingestor(
                self._builder(access),
                self.store,
                self.manifest,
                reindex=reindex,
                executor=self._executor(access),
                swap_lock=self.locks.store,
            )
            report = ingestor.ingest(paths, on_result)
            self.optimize(on_status)
            return report

    def optimize(self, progress: Progress | None = None) -> bool:
        """Build the embedded store's HNSW index where it outgrew a full scan; blocks till done.

        ``progress`` gets a status line before and after a long build. True if anything changed.
        """
        store = self.store
        return isinstance(store, Optimizable) and store.exists() and store.optimize(progress)

    async def aingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
        *,
        access: Access | None = None,
        reindex: bool = False,
        on_status: Progress | None = None,
    ) -> IngestReport:
        """Like ``ingest``, in a worker thread (``on_result`` is called from that thread)."""
        return await asyncio.to_thread(
            self.ingest, paths, on_result, access=access, reindex=reindex, on_status=on_status
        )

    def chunks(self, path: str | Path, *, vectors: bool = False) -> list[Chunk]:
        """Preview the chunks (and optionally vectors) a file would get, storing nothing."""
        return self._builder().build(load_document(Path(path)), vectors=vectors)

    def search(
        self,
        query: str,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        *,
        principal: Principal | None = None,
    ) -> list[Hit]:
        """Return the chunks that best answer ``query``, best first (reranked when configured).

        Only documents ``principal`` may read are searched; without one, public ones only.
        Text that is not valid Unicode is refused with an ``InputError``.
        """
        query = check_text(query)
        k = k or self.config.top_k
        search_filter = scoped(search_filter, principal)
        reranker = self.reranker
        depth = k if reranker is None else max(k, self.config.rerank.candidates)
        hits = self._searcher().retrieve(query, depth, search_filter)
        if reranker is None:
            return hits
        if self.config.rerank.kind == "cross-encoder":  # a torch model of its own
            with self.locks.model:
                return reranker.rerank(query, hits, k)
        return reranker.rerank(query, hits, k)

    async def asearch(
        self,
        query: str,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        *,
        principal: Principal | None = None,
    ) -> list[Hit]:
        """Like ``search``, with the model and store in a worker thread."""
        return await asyncio.to_thread(self.search, query, k, search_filter, principal=principal)

    def ask(
        self,
        question: str,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        *,
        principal: Principal | None = None,
        instructions: str = "",
    ) -> Answer:
        """Answer ``question`` from the documents ``principal`` may read, with citations.

        ``instructions`` (say, a chat's system messages) are followed within the fixed
        prompt's rules by an LLM; the extractive generator ignores them.
        """
        hits = self.search(question, k, search_filter, principal=principal)
        return self.generator.generate(question, hits, instructions=instructions)

    def stream(
        self,
        question: str,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        *,
        principal: Principal | None = None,
        instructions: str = "",
    ) -> AnswerStream:
        """Like ``ask``, but the answer's text can be read as it is produced."""
        hits = self.search(question, k, search_filter, principal=principal)
        return AnswerStream(question, hits, self.generator, instructions)

    async def astream(
        self,
        question: str,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        *,
        principal: Principal | None = None,
        instructions: str = "",
    ) -> AsyncAnswerStream:
        """Like ``stream``: await it for the stream, then ``async for`` its text deltas."""
        hits = await self.asearch(question, k, search_filter, principal=principal)
        generator = await asyncio.to_thread(lambda: self.generator)
        return AsyncAnswerStream(question, hits, generator, instructions)

    async def aask(
        self,
        question: str,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        *,
        principal: Principal | None = None,
        instructions: str = "",
    ) -> Answer:
        """Like ``ask``; the LLM request is awaited, so many questions can be in flight."""
        stream = await self.astream(
            question, k, search_filter, principal=principal, instructions=instructions
        )
        async for _ in stream:
            pass
        if stream.answer is None:
            raise RagError(f"the answer stream of {self.generator.name} ended without an answer")
        return stream.answer

    def resolve_document(self, doc_id_or_path: str) -> str:
        """Return the document id for an id or a file path (the file need not exist)."""
        if self.store.exists() and self.store.document(doc_id_or_path) is not None:
            return doc_id_or_path
        return document_id(str(Path(doc_id_or_path).expanduser().resolve()))

    def delete(self, doc_id_or_path: str) -> int:
        """Delete a document by id or path; returns how many chunks were removed."""
        store, manifest = self.store, self.manifest  # made before any lock is held
        with self.locks.write, self.locks.store:  # searches see the document or nothing
            if not store.exists():
                return 0
            doc_id = self.resolve_document(doc_id_or_path)
            removed = store.delete_document(doc_id)
            manifest.forget(doc_id)
            return removed

    def documents(self, *, principal: Principal | None = None) -> list[DocumentInfo]:
        """The stored documents ``principal`` may read (without one: the public ones)."""
        return visible(self.all_documents(), principal or Principal())

    def all_documents(self) -> list[DocumentInfo]:
        """Every stored document, whoever may read it: for operators (stats, delete)."""
        store = self.store
        return store.documents() if store.exists() else []

    def stats(self) -> dict[str, Any]:
        """Counts and settings of the collection."""
        opened = self.store
        with self.locks.store:  # the two counts of one moment
            docs = self.all_documents()
            chunks = opened.count() if docs else 0
        store = self.config.store
        return {
            "collection": store.collection,
            "backend": "server" if store.url else "embedded",
            "location": masked_url(store.url) if store.url else str(store.path),
            "documents": len(docs),
            "chunks": chunks,
            "settings": {k: v for k, v in docs[0].metadata.items() if k != "access"}
            if docs
            else {},
        }


def _wants_gpus(device: str) -> bool | None:
    """Whether Ray model actors hold a GPU: yes for cuda, no for cpu, auto: if there are any."""
    return None if device == "auto" else device.startswith("cuda")
