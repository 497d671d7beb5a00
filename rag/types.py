"""The data LateRAG passes between components: documents, chunks, hits and answers."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np

Span = tuple[int, int]
"""A half-open ``[start, end)`` range of character or token offsets."""

PAGE_NAMES = {".pptx": "slide", ".ppt": "slide", ".xlsx": "sheet", ".xls": "sheet"}
"""What a "page" of a file is called when it is not a printed page."""


def page_name(source: str) -> str:
    """Return what a page of ``source`` is: ``slide``, ``sheet`` or ``page``."""
    return PAGE_NAMES.get(PurePath(source).suffix.lower(), "page")


ID_NAMESPACE = uuid.UUID("6f1c3a52-8a4e-4f3e-9d0c-5a1f6b2e7c90")


def document_id(source: str) -> str:
    """Return the stable id of the document read from ``source`` (an absolute path or URI)."""
    return str(uuid.uuid5(ID_NAMESPACE, f"doc:{source}"))


def chunk_id(doc_id: str, content_hash: str, char_span: Span) -> str:
    """Return the stable point id of one chunk of one version of a document."""
    return str(
        uuid.uuid5(ID_NAMESPACE, f"chunk:{doc_id}:{content_hash}:{char_span[0]}:{char_span[1]}")
    )


@dataclass(frozen=True)
class Heading:
    """A heading of a document: its level (1 = top), its title and where it starts in the text."""

    level: int
    title: str
    start: int


@dataclass(frozen=True)
class Context:
    """Text a reader needs before any chunk that starts in ``[start, end)``: a table's header row.

    ``span`` indexes the document's text; a chunk that already holds it gets no context.
    """

    start: int
    end: int
    span: Span


ATTACHED_TO = "attached_to"
"""The metadata key linking an attachment's document to the document it came in."""


@dataclass(frozen=True)
class Document:
    """A loaded source file: its plain text plus the page and heading structure found in it.

    ``page_starts[i]`` is the character offset where page ``i + 1`` begins (empty when the
    format has no pages; a slide or a sheet is a page). ``content_hash`` is the SHA-256 of the
    source bytes. ``attachments`` are documents of their own found inside this one (a mail's
    attached files), each linked to it by ``metadata["attached_to"]``; ``failed`` holds a
    one-line reason for each attachment that could not be read.
    """

    id: str
    source: str
    text: str
    content_hash: str
    page_starts: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    contexts: tuple[Context, ...] = ()
    attachments: tuple[Document, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    def context(self, char_span: Span) -> str:
        """Return the context text of the chunk at ``char_span`` ("" when it needs none)."""
        start, end = char_span
        for context in self.contexts:
            if context.start <= start < context.end:
                first, last = context.span
                return "" if start <= first and last <= end else self.text[first:last]
        return ""

    def page_span(self, char_span: Span) -> Span | None:
        """Return the 1-based inclusive page range covering ``char_span`` (None without pages)."""
        if not self.page_starts:
            return None
        start, end = char_span
        first = bisect.bisect_right(self.page_starts, start)
        last = bisect.bisect_right(self.page_starts, max(start, end - 1))
        return (max(first, 1), max(last, 1))

    def heading_path(self, offset: int) -> tuple[str, ...]:
        """Return the titles of the headings that enclose ``offset``, outermost first."""
        path: list[Heading] = []
        for heading in self.headings:
            if heading.start > offset:
                break
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
        return tuple(h.title for h in path)


@dataclass(frozen=True)
class SparseVec:
    """A sparse vector: term ``indices`` and the weight of each in ``values``, same length."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Chunk:
    """A piece of a document with its spans and, once embedded, its dense and sparse vectors.

    ``char_span`` indexes ``Document.text``; ``token_span`` indexes the document's content
    tokens (special tokens excluded) and is None for chunks that were not late-chunked;
    ``page_span`` is 1-based and inclusive. ``context`` is text read before the chunk but
    not part of it (``Document.context``: a table's header row over a chunk of its rows).
    """

    doc_id: str
    source: str
    content_hash: str
    index: int
    text: str
    char_span: Span
    token_span: Span | None = None
    page_span: Span | None = None
    headings: tuple[str, ...] = ()
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    sparse: SparseVec | None = field(default=None, compare=False, repr=False)
    context: str = ""

    @property
    def id(self) -> str:
        """The deterministic point id: same document version and span, same id."""
        return chunk_id(self.doc_id, self.content_hash, self.char_span)


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search with its score (higher is better)."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class Citation:
    """Where a numbered reference ``[number]`` of an answer points to."""

    number: int
    doc_id: str
    source: str
    page_span: Span | None
    char_span: Span
    text: str
    quote: str | None = None


@dataclass(frozen=True)
class Answer:
    """A generated or extractive answer with the citations it uses and the hits it saw."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    generator: str


@dataclass(frozen=True)
class SearchFilter:
    """Restricts a search to chunks of the given sources or document ids (empty means any).

    ``readers`` (reader tags such as ``user:alice``, see ``rag.access``) keeps only public
    chunks and those readable by one of the tags; None means no access check (the SDK
    always sets it from the caller's ``Principal``).
    """

    sources: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    readers: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        """Return True when the filter lets every chunk through."""
        return not (self.sources or self.doc_ids) and self.readers is None


@dataclass(frozen=True)
class DocumentInfo:
    """What a store knows about one stored document version."""

    doc_id: str
    source: str
    content_hash: str
    chunks: int
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tokens:
    """A text's content tokens (no special tokens) with each token's character span."""

    ids: tuple[int, ...]
    offsets: tuple[Span, ...]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class WindowStates:
    """A model's output for one window: leading specials and prefix, content, trailing specials."""

    head: np.ndarray
    body: np.ndarray
    tail: np.ndarray


@dataclass(frozen=True)
class ManifestRow:
    """One source's row of a collection's ingest manifest, as a ``ManifestRows`` keeps it.

    ``committed`` and ``pending`` are versions as JSON text (None: none); ``previous`` holds
    the point ids the store had for the document when ``pending`` began.
    """

    doc_id: str
    committed: str | None
    pending: str | None
    previous: tuple[str, ...] = ()

    @property
    def unfinished(self) -> bool:
        """True when an interrupted ingest left a pending version or ids to delete."""
        return self.pending is not None or bool(self.previous)


@dataclass(frozen=True)
class BuiltFile:
    """What became of one file on its way to the store.

    ``document`` is None when it could not be loaded (``error`` says why); otherwise
    ``chunks`` are its embedded chunks (empty: no text), unless ``error`` stopped them.
    """

    path: Path
    document: Document | None
    chunks: tuple[Chunk, ...] = ()
    error: Exception | None = None
