"""The chunker that cuts runs of a fixed number of tokens, at word starts where it can."""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.chunkers.packing import (
    TokenIndex,
    check_chunk_size,
    check_tokenizer,
    split_by_tokens,
)
from rag.protocols import Tokenizer
from rag.types import Document, Span


@dataclass(frozen=True)
class TokenChunker:
    """Cuts the text into consecutive runs of at most ``chunk_size`` tokens.

    A run that would end inside a word (its next token follows without a gap) ends before
    that word instead, unless the word alone is longer than a run.
    """

    tokenizer: Tokenizer
    chunk_size: int

    def __post_init__(self) -> None:
        check_tokenizer(self.tokenizer)
        check_chunk_size(self.chunk_size)

    def split(self, doc: Document) -> list[Span]:
        """Return the chunk spans of ``doc.text``, in order."""
        text = doc.text
        if not text or text.isspace():
            return []
        index = TokenIndex.build(text, self.tokenizer.tokenize(text))
        pieces = split_by_tokens(text, index, (0, len(text)), self.chunk_size)
        return [piece for piece in pieces if index.count(*piece) > 0]
