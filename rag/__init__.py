"""LateRAG: retrieval-augmented generation over your own documents, with late chunking."""

from typing import TYPE_CHECKING, Any

from rag.access import Access, Principal
from rag.config import (
    ChunkingConfig,
    EmbedderConfig,
    LLMConfig,
    RAGConfig,
    RerankConfig,
    RetrievalConfig,
    StoreConfig,
)
from rag.errors import (
    ConfigError,
    EmbeddingError,
    GenerationError,
    LoaderError,
    RagError,
    StoreError,
    StoreLockedError,
)
from rag.types import Answer, Chunk, Citation, Document, DocumentInfo, Hit, SearchFilter

if TYPE_CHECKING:
    from rag.sdk import RAG, AnswerStream, AsyncAnswerStream


def __getattr__(name: str) -> Any:
    # The SDK imports ingestion, which imports rag.errors: load it on first use to avoid a cycle.
    if name in ("RAG", "AnswerStream", "AsyncAnswerStream"):
        from rag import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = [
    "RAG",
    "Access",
    "Answer",
    "AnswerStream",
    "AsyncAnswerStream",
    "Chunk",
    "ChunkingConfig",
    "Citation",
    "ConfigError",
    "Document",
    "DocumentInfo",
    "EmbedderConfig",
    "EmbeddingError",
    "GenerationError",
    "Hit",
    "LLMConfig",
    "LoaderError",
    "Principal",
    "RAGConfig",
    "RerankConfig",
    "RetrievalConfig",
    "RagError",
    "SearchFilter",
    "StoreConfig",
    "StoreError",
    "StoreLockedError",
]
