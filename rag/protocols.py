"""The roles of a LateRAG pipeline, each a small protocol; implementations compose them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from collections.abc import Generator as Gen
from pathlib import Path
from typing import Any, Literal, Protocol, Self, runtime_checkable

import numpy as np

from rag.types import (
    Answer,
    BuiltFile,
    Chunk,
    Document,
    DocumentInfo,
    Hit,
    ManifestRow,
    SearchFilter,
    Span,
    SparseVec,
    Tokens,
    WindowStates,
)

TextKind = Literal["query", "document"]

Progress = Callable[[str], None]
"""Receives one-line status messages of a long operation."""


@runtime_checkable
class Loader(Protocol):
    """Reads one file into a ``Document``; raises ``LoaderError`` naming the file on failure."""

    extensions: tuple[str, ...]

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document."""
        ...


@runtime_checkable
class Tokenizer(Protocol):
    """Turns text into content tokens with character offsets."""

    def tokenize(self, text: str) -> Tokens:
        """Tokenize ``text`` without adding special tokens."""
        ...


@runtime_checkable
class Chunker(Protocol):
    """Splits a document into ordered, non-overlapping character spans of its text."""

    def split(self, doc: Document) -> list[Span]:
        """Return the chunk spans of ``doc.text``, in order."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Embeds whole texts into pooled, L2-normalised vectors."""

    name: str

    @property
    def dim(self) -> int:
        """Size of the vectors."""
        ...

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Return one pooled, L2-normalised vector per text; never truncates."""
        ...


@runtime_checkable
class TokenEmbedder(Embedder, Tokenizer, Protocol):
    """A transformer encoder that exposes its token states, for late chunking."""

    @property
    def max_tokens(self) -> int:
        """Positions per forward pass, special tokens and prefix included."""
        ...

    @property
    def content_window(self) -> int:
        """Content tokens that fit in one forward pass of a document window."""
        ...

    @property
    def runtime(self) -> Mapping[str, str]:
        """How the forward pass runs (device, precision, backend): recorded, not compared."""
        ...

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Run the model over windows of document content ids; one result per window."""
        ...


class Runner(Protocol):
    """Runs padded id and mask matrices through a model; returns float32 token states."""

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Return ``last_hidden_state`` as a ``(batch, width, dim)`` float32 array."""
        ...


class VectorPlan(Protocol):
    """One document's pending vector work: ``sizes[i]`` tokens for unit ``i``."""

    spans: list[Span]
    sizes: list[int]

    @property
    def done(self) -> bool:
        """True when every unit has run."""
        ...

    def vectors(self) -> np.ndarray:
        """Return each chunk's L2-normalised vector; raises ``EmbeddingError`` before ``done``."""
        ...


Unit = tuple[VectorPlan, int]
"""A unit of vector work: a plan and the index of one of its units (a window or a chunk)."""


class ChunkVectorizer(Protocol):
    """Turns tokenized documents and their chunk spans into token spans and chunk vectors.

    Work is split into units so units of many documents can share forward passes: ``plan``
    a document, ``run`` any mix of units, then read the plan's ``vectors``.
    """

    def plan(
        self, text: str, tokens: Tokens, char_spans: Sequence[Span], context: str = ""
    ) -> VectorPlan:
        """Map spans and list the document's units; runs nothing.

        ``context`` (a title, say) goes before every window or chunk the model runs; its
        token states are never pooled into a chunk.
        """
        ...

    def run(self, units: Sequence[Unit]) -> None:
        """Embed the given units (of any plans made by this vectorizer) in shared batches."""
        ...


Admit = Callable[[Path, Document], bool]
"""Says, in the ingesting process, whether a loaded document is to be chunked and embedded."""


class IngestExecutor(Protocol):
    """Loads files, then chunks and embeds the documents admitted: here, or on a cluster."""

    def run(self, files: Sequence[Path], admit: Admit) -> Iterator[BuiltFile]:
        """Yield one result per file that failed to load or was admitted, as each is done.

        ``admit`` is called once per loaded document, in this process, before it is chunked.
        """
        ...

    def close(self) -> None:
        """Release the workers (and a cluster this executor started)."""
        ...


@runtime_checkable
class SparseEncoder(Protocol):
    """Turns texts into sparse term-weight vectors for lexical matching."""

    name: str

    def embed_documents(self, texts: Sequence[str]) -> list[SparseVec]:
        """Return one sparse vector per document text."""
        ...

    def embed_query(self, text: str) -> SparseVec:
        """Return the sparse vector of a query."""
        ...


@runtime_checkable
class VectorStore(Protocol):
    """Stores chunks with their vectors exactly as given and searches them."""

    collection: str

    def __enter__(self) -> Self:
        """Open the store for a with-block."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Close the store at the end of a with-block."""
        ...

    def open(self) -> None:
        """Open the store; raises ``StoreLockedError`` when another process holds it."""
        ...

    def close(self) -> None:
        """Flush and release the store."""
        ...

    def exists(self) -> bool:
        """Return True when the collection exists."""
        ...

    def create_collection(self, dim: int) -> None:
        """Create the collection for vectors of ``dim``; no-op when it exists with that size."""
        ...

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Write chunks (each with a vector) under their deterministic ids."""
        ...

    def delete_document(self, doc_id: str, *, keep_hash: str | None = None) -> int:
        """Delete a document's chunks (all, or those not of version ``keep_hash``)."""
        ...

    def chunk_ids(self, doc_id: str) -> list[str]:
        """Return the point ids of every stored chunk of a document, all versions."""
        ...

    def delete_points(self, ids: Sequence[str]) -> None:
        """Delete chunks by point id; ids not stored are ignored."""
        ...

    def document(self, doc_id: str) -> DocumentInfo | None:
        """Return what is stored of one document, or None."""
        ...

    def documents(self) -> list[DocumentInfo]:
        """Return every stored document."""
        ...

    def search(
        self, vector: np.ndarray, k: int, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """Return the ``k`` nearest chunks (without vectors), best first."""
        ...

    def hybrid_search(
        self,
        vector: np.ndarray,
        sparse: SparseVec,
        k: int,
        search_filter: SearchFilter | None = None,
        *,
        fusion: str = "rrf",
        weights: tuple[float, float] = (1.0, 1.0),
        candidates: int | None = None,
    ) -> list[Hit]:
        """Fuse the best ``candidates`` dense and sparse matches into ``k`` hits, best first.

        ``fusion`` is ``"rrf"`` (weighted by ``weights`` = dense, sparse) or ``"dbsf"``.
        """
        ...

    def count(self, search_filter: SearchFilter | None = None) -> int:
        """Return how many chunks match."""
        ...


@runtime_checkable
class ManifestRows(Protocol):
    """Where a collection's ingest manifest keeps its rows; each write is atomic on its own.

    ``Manifest`` (``ingestion.manifest``) builds the crash-safe ingest on it: every step of a
    document's swap is one ``put_source`` or ``drop_source``, so a process killed at any
    moment leaves either the old row or the new one.
    """

    def source(self, doc_id: str) -> ManifestRow | None:
        """The row of one document, or None."""
        ...

    def sources(self, *, unfinished: bool = False) -> list[ManifestRow]:
        """Every row (only those an interrupted ingest left, with ``unfinished``)."""
        ...

    def put_source(self, row: ManifestRow) -> None:
        """Write one row in place of the document's old one, atomically."""
        ...

    def put_sources(self, rows: Sequence[ManifestRow]) -> None:
        """Write many rows (each atomically), as when a collection is copied."""
        ...

    def drop_source(self, doc_id: str) -> None:
        """Remove a document's row, atomically; a missing row is ignored."""
        ...

    def value(self, key: str) -> Any:
        """A collection-wide value (``settings``, ``reindexing``) read back from JSON, or None."""
        ...

    def set_value(self, key: str, value: Any) -> None:
        """Record a collection-wide, JSON-serialisable value."""
        ...

    def close(self) -> None:
        """Release what the rows hold open (they reopen on next use)."""
        ...


@runtime_checkable
class KeepsManifest(Protocol):
    """A store that keeps its collection's manifest itself (a Qdrant server collection)."""

    def manifest_rows(self) -> ManifestRows:
        """The rows of the collection's manifest, kept beside it in the same store."""
        ...


@runtime_checkable
class Optimizable(Protocol):
    """A store that builds its search index on request (the embedded one)."""

    def optimize(self, progress: Progress | None = None) -> bool:
        """Build the index where the collection outgrew a full scan; True if anything changed."""
        ...


@runtime_checkable
class HasVectorSize(Protocol):
    """A store that can say the size of its collection's dense vectors."""

    def vector_size(self) -> int | None:
        """The dense vector size of the collection, or None when it does not exist."""
        ...


@runtime_checkable
class LocalStore(Protocol):
    """A store kept in a folder on this machine (the embedded one)."""

    folder: Path


@runtime_checkable
class Retriever(Protocol):
    """Finds the chunks that answer a query."""

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """Return up to ``k`` hits, best first."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Re-scores retrieved hits against the query with a stronger or different signal."""

    name: str

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Return at most ``k`` of ``hits``, best first, each scored by this reranker."""
        ...


class MigrationTarget(Protocol):
    """What ``migrate`` writes to: the part of ``VectorStore`` a copy needs."""

    def create_collection(self, dim: int) -> None:
        """Create the collection for vectors of ``dim`` unless it exists with that size."""
        ...

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Write chunks with their vectors under their ids."""
        ...

    def count(self) -> int:
        """Return how many chunks the collection holds."""
        ...


@runtime_checkable
class ChatModel(Protocol):
    """A chat model that answers plain messages (``OpenAIChatGenerator`` is one)."""

    name: str

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """Return the reply to ``messages``; raises ``GenerationError`` when the model fails."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from retrieved hits, citing them as [n]."""

    name: str

    def stream(
        self, question: str, hits: Sequence[Hit], *, instructions: str = ""
    ) -> Gen[str, None, Answer]:
        """Yield the answer text as it is produced, then return the whole answer.

        ``instructions`` (a chat's system messages) are followed within the prompt's rules
        by generators that can follow any.
        """
        ...

    def astream(
        self, question: str, hits: Sequence[Hit], *, instructions: str = ""
    ) -> AsyncGenerator[str | Answer, None]:
        """Like ``stream`` for asyncio: yield the text deltas, then the whole ``Answer`` last."""
        ...

    def generate(self, question: str, hits: Sequence[Hit], *, instructions: str = "") -> Answer:
        """Return the whole answer with its citations."""
        ...


class Upload(Protocol):
    """An uploaded file: its name as sent, its size and bytes (Streamlit's ``UploadedFile``)."""

    name: str
    size: int

    def getvalue(self) -> bytes:
        """The file's bytes."""
        ...
