"""Turns a loaded document into chunks with spans, pages, headings and vectors."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingestion.chunkers import make_chunker
from ingestion.embedding import LateVectorizer, MixedVectorizer, NaiveVectorizer
from ingestion.embedding import token_spans as map_spans
from ingestion.embedding.plan import MAX_CONTEXT_TOKENS
from ingestion.embedding.window_cache import WindowCache
from rag.config import ChunkingConfig
from rag.errors import ConfigError, EmbeddingError
from rag.protocols import ChunkVectorizer, SparseEncoder, TokenEmbedder, Unit, VectorPlan
from rag.titles import document_title
from rag.types import Chunk, Document, Span, Tokens

LOOKAHEAD_TOKENS = 32_768
"""Window tokens gathered across documents before they run, sorted by length, in batches."""

Built = tuple[Document, "list[Chunk] | EmbeddingError"]
"""A document with its chunks, or the reason it could not be embedded."""


@dataclass(eq=False)
class _Pending:
    doc: Document
    char_spans: list[Span]
    plan: VectorPlan | None = None
    error: EmbeddingError | None = None


class _MemoTokenizer:
    """Tokenizes each text once even when the chunker and the vectorizer both ask."""

    def __init__(self, encoder: TokenEmbedder) -> None:
        self._encoder = encoder
        self._text: str | None = None
        self._tokens = Tokens((), ())

    def tokenize(self, text: str) -> Tokens:
        if text is not self._text and text != self._text:
            self._tokens = self._encoder.tokenize(text)
            self._text = text
        return self._tokens


class ChunkBuilder:
    """Chunks documents and embeds the chunks with one encoder and one set of settings.

    Embedded chunks also get a sparse vector from ``sparse_encoder`` when one is given (the
    SDK gives BM25, for hybrid search), and ``access``, the reader tags of ``rag.access``
    (None: public), in their metadata.
    """

    def __init__(
        self,
        encoder: TokenEmbedder,
        settings: ChunkingConfig,
        sparse_encoder: SparseEncoder | None = None,
        *,
        access: list[str] | None = None,
        cache: WindowCache | None = None,
    ) -> None:
        self.encoder = encoder
        self.settings = settings
        self.access = list(access) if access else None
        self.sparse_encoder = sparse_encoder
        self._cache = cache
        self._tokenizer = _MemoTokenizer(encoder)
        self._chunker = make_chunker(settings.chunker, self._tokenizer, settings.chunk_size)
        self._late: LateVectorizer | None = None
        self._vectorizer: ChunkVectorizer = NaiveVectorizer(encoder)
        if settings.mode != "naive":
            late = LateVectorizer(
                encoder,
                overlap=settings.overlap,
                special_tokens=settings.special_tokens,
                cache=cache,
            )
            self._late = late
            self._vectorizer = late
            if settings.mode == "mixed":
                self._vectorizer = MixedVectorizer(
                    late, NaiveVectorizer(encoder), settings.late_weight
                )

    def with_access(self, access: list[str] | None) -> ChunkBuilder:
        """The same builder (same encoder, settings, cache) tagging chunks with ``access``."""
        if (list(access) if access else None) == self.access:
            return self
        return ChunkBuilder(
            self.encoder, self.settings, self.sparse_encoder, access=access, cache=self._cache
        )

    def check(self) -> None:
        """Refuse settings the model cannot honour without truncating."""
        window = self.encoder.content_window
        if self.settings.context != "none":
            window -= MAX_CONTEXT_TOKENS
        if self.settings.mode != "late" and self.settings.chunk_size > window:
            raise ConfigError(
                f"chunk size {self.settings.chunk_size} exceeds the {window}-token window of "
                f"{self.encoder.name!r}: {self.settings.mode} chunking embeds each chunk alone "
                "and would truncate; use a smaller size"
            )
        if self._late is not None:
            _ = self._late.overlap

    def describe(self) -> dict[str, Any]:
        """The settings stored with every chunk, so a collection records how it was built."""
        info: dict[str, Any] = {
            "model": self.encoder.name,
            "chunking": self.settings.mode,
            "chunker": self.settings.chunker,
            "chunk_size": self.settings.chunk_size,
        }
        if self._late is not None:
            info["window"] = self._late.window
            info["overlap"] = self._late.overlap
            info["special_tokens"] = self.settings.special_tokens
        if self.settings.mode == "mixed":
            info["late_weight"] = self.settings.late_weight
        if self.settings.context != "none":  # absent: collections built before it was offered
            info["context"] = self.settings.context
        info["access"] = self.access  # compared on re-ingest, so a changed rule is applied
        info["runtime"] = dict(self.encoder.runtime)  # recorded, never compared
        return info

    def build(self, doc: Document, *, vectors: bool = True) -> list[Chunk]:
        """Return the document's chunks, embedded unless ``vectors`` is False."""
        if vectors:
            ((_, built),) = self.build_many([doc])
            if isinstance(built, EmbeddingError):
                raise built
            return built
        char_spans = self._chunker.split(doc)
        if not char_spans:
            return []
        tokens = self._tokenizer.tokenize(doc.text)
        return self._chunks(doc, char_spans, map_spans(tokens.offsets, char_spans), None)

    def build_many(
        self, docs: Iterable[Document], *, lookahead_tokens: int = LOOKAHEAD_TOKENS
    ) -> Iterator[Built]:
        """Embed documents, sharing forward passes between them; yield each in input order.

        Each yielded document comes with its chunks (empty when it has no text) or the
        ``EmbeddingError`` that stopped it. ``docs`` is read lazily: at most about
        ``lookahead_tokens`` of window tokens wait beyond the document being embedded.
        """
        pending: deque[_Pending] = deque()
        queue: deque[Unit] = deque()
        queued = 0
        for doc in docs:
            item = self._plan(doc)
            pending.append(item)
            if item.plan is not None:
                queue.extend((item.plan, i) for i in range(len(item.plan.sizes)))
                queued += sum(item.plan.sizes)
            while queued >= lookahead_tokens:
                queued -= self._run(queue, pending, lookahead_tokens)
                yield from self._ready(pending)
            yield from self._ready(pending)
        while queue:
            self._run(queue, pending, lookahead_tokens)
            yield from self._ready(pending)
        yield from self._ready(pending)

    def _plan(self, doc: Document) -> _Pending:
        try:
            char_spans = self._chunker.split(doc)
            item = _Pending(doc, char_spans)
            if char_spans:
                tokens = self._tokenizer.tokenize(doc.text)
                item.plan = self._vectorizer.plan(doc.text, tokens, char_spans, self._context(doc))
        except EmbeddingError as e:
            return _Pending(doc, [], error=e)
        return item

    def _context(self, doc: Document) -> str:
        """What goes before the document's windows and chunks: its title, or nothing."""
        if self.settings.context == "title":
            return document_title(doc.source, doc.metadata)
        return ""

    def _run(self, queue: deque[Unit], pending: deque[_Pending], budget: int) -> int:
        """Run units from the front of ``queue`` up to ``budget`` tokens; return the tokens."""
        units: list[Unit] = []
        size = 0
        while queue and (not units or size + queue[0][0].sizes[queue[0][1]] <= budget):
            unit = queue.popleft()
            units.append(unit)
            size += unit[0].sizes[unit[1]]
        try:
            self._vectorizer.run(units)
        except EmbeddingError as e:
            failed = {id(plan) for plan, _ in units}
            for item in pending:
                if item.plan is not None and id(item.plan) in failed:
                    item.error, item.plan = e, None
            kept = [u for u in queue if id(u[0]) not in failed]
            size += sum(u[0].sizes[u[1]] for u in queue if id(u[0]) in failed)
            queue.clear()
            queue.extend(kept)
        return size

    def _ready(self, pending: deque[_Pending]) -> Iterator[Built]:
        while pending and (pending[0].plan is None or pending[0].plan.done):
            item = pending.popleft()
            if item.error is not None:
                yield item.doc, item.error
            elif item.plan is None:
                yield item.doc, []
            else:
                try:
                    matrix = item.plan.vectors()
                except EmbeddingError as e:
                    yield item.doc, e
                    continue
                yield item.doc, self._chunks(item.doc, item.char_spans, item.plan.spans, matrix)

    def _chunks(
        self,
        doc: Document,
        char_spans: list[Span],
        token_spans: list[Span],
        matrix: np.ndarray | None,
    ) -> list[Chunk]:
        meta = {**self.describe(), "document": dict(doc.metadata)}
        texts = [doc.text[start:end] for start, end in char_spans]
        contexts = [doc.context(span) for span in char_spans]
        vectors = matrix is not None
        with_context = [f"{c}\n{t}" if c else t for c, t in zip(contexts, texts, strict=True)]
        sparse: list[Any] = [None] * len(texts)
        if vectors and self.sparse_encoder is not None:
            sparse = list(self.sparse_encoder.embed_documents(with_context))
        return [
            Chunk(
                doc_id=doc.id,
                source=doc.source,
                content_hash=doc.content_hash,
                index=i,
                text=texts[i],
                char_span=(start, end),
                token_span=token_spans[i],
                page_span=doc.page_span((start, end)),
                headings=doc.heading_path(start),
                vector=None if matrix is None else matrix[i],
                metadata=meta,
                sparse=sparse[i],
                context=contexts[i],
            )
            for i, (start, end) in enumerate(char_spans)
        ]
