"""Turns a loaded document into chunks with spans, pages, headings and vectors."""

from __future__ import annotations

from typing import Any

from ingestion.chunkers import make_chunker
from ingestion.embedding import ChunkVectorizer, LateChunker, NaiveChunker
from ingestion.embedding import token_spans as map_spans
from rag.config import ChunkingConfig
from rag.encoders.sparse import Bm25Encoder
from rag.errors import ConfigError
from rag.protocols import SparseEncoder, TokenEmbedder
from rag.types import Chunk, Document, Tokens


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

    Embedded chunks also get a sparse vector from ``sparse_encoder`` (BM25 by default).
    """

    def __init__(
        self,
        encoder: TokenEmbedder,
        settings: ChunkingConfig,
        sparse_encoder: SparseEncoder | None = None,
    ) -> None:
        self.encoder = encoder
        self.settings = settings
        self.sparse_encoder = sparse_encoder or Bm25Encoder()
        self._tokenizer = _MemoTokenizer(encoder)
        self._chunker = make_chunker(settings.chunker, self._tokenizer, settings.chunk_size)
        self._vectorizer: ChunkVectorizer
        if settings.mode == "late":
            self._vectorizer = LateChunker(
                encoder, overlap=settings.overlap, special_tokens=settings.special_tokens
            )
        else:
            self._vectorizer = NaiveChunker(encoder)

    def check(self) -> None:
        """Refuse settings the model cannot honour without truncating."""
        window = self.encoder.content_window
        if self.settings.mode == "naive" and self.settings.chunk_size > window:
            raise ConfigError(
                f"chunk size {self.settings.chunk_size} exceeds the {window}-token window of "
                f"{self.encoder.name!r}: naive chunking would truncate; use a smaller size"
            )
        if isinstance(self._vectorizer, LateChunker):
            _ = self._vectorizer.overlap

    def describe(self) -> dict[str, Any]:
        """The settings stored with every chunk, so a collection records how it was built."""
        info: dict[str, Any] = {
            "model": self.encoder.name,
            "chunking": self.settings.mode,
            "chunker": self.settings.chunker,
            "chunk_size": self.settings.chunk_size,
        }
        if isinstance(self._vectorizer, LateChunker):
            info["window"] = self._vectorizer.window
            info["overlap"] = self._vectorizer.overlap
            info["special_tokens"] = self.settings.special_tokens
        return info

    def build(self, doc: Document, *, vectors: bool = True) -> list[Chunk]:
        """Return the document's chunks, embedded unless ``vectors`` is False."""
        char_spans = self._chunker.split(doc)
        if not char_spans:
            return []
        tokens = self._tokenizer.tokenize(doc.text)
        if vectors:
            token_spans, matrix = self._vectorizer.vectorize(doc.text, tokens, char_spans)
        else:
            token_spans, matrix = map_spans(tokens.offsets, char_spans), None
        meta = self.describe()
        texts = [doc.text[start:end] for start, end in char_spans]
        sparse = self.sparse_encoder.embed_documents(texts) if vectors else [None] * len(texts)
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
            )
            for i, (start, end) in enumerate(char_spans)
        ]
