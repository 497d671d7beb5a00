"""Chunkers that cut a document's text into exact character spans, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from ingestion.chunkers.sentences import SentenceChunker
from ingestion.chunkers.structure import StructureChunker
from ingestion.chunkers.tokens import TokenChunker
from rag.config import ChunkerName
from rag.errors import ConfigError
from rag.protocols import Chunker, Tokenizer

_FACTORIES: dict[str, Callable[[Tokenizer, int], Chunker]] = {
    "tokens": TokenChunker,
    "sentences": SentenceChunker,
    "structure": StructureChunker,
}

CHUNKERS: tuple[str, ...] = get_args(ChunkerName)
"""The chunker names ``make_chunker`` accepts, as ``ChunkingConfig`` spells them."""


def make_chunker(name: str, tokenizer: Tokenizer, chunk_size: int) -> Chunker:
    """Return the chunker called ``name``; raise ``ConfigError`` for an unknown name or size."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ConfigError(f"unknown chunker {name!r} (choose from: {', '.join(CHUNKERS)})")
    return factory(tokenizer, chunk_size)


__all__ = [
    "CHUNKERS",
    "SentenceChunker",
    "StructureChunker",
    "TokenChunker",
    "make_chunker",
]
