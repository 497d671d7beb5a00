"""The chunker that cuts runs of a fixed number of tokens, at word starts where it can."""

from __future__ import annotations

from functools import partial

from ingestion.chunkers.packing import SpanChunker, TokenIndex, split_by_tokens
from rag.types import Document, Span


def split_token_runs(doc: Document, index: TokenIndex, chunk_size: int) -> list[Span]:
    """Cut the text into consecutive runs of at most ``chunk_size`` tokens.

    A run that would end inside a word (its next token follows without a gap) ends before
    that word instead, unless the word alone is longer than a run.
    """
    pieces = split_by_tokens(doc.text, index, (0, len(doc.text)), chunk_size)
    return [piece for piece in pieces if index.count(*piece) > 0]


TokenChunker = partial(SpanChunker, strategy=split_token_runs)
"""``TokenChunker(tokenizer, chunk_size)``: fixed runs of tokens."""
