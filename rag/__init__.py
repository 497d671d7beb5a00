"""LateRAG: retrieval-augmented generation over your own documents, with late chunking."""

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
from rag.sdk import RAG, AnswerStream, AsyncAnswerStream
from rag.types import Answer, Chunk, Citation, Document, DocumentInfo, Hit, SearchFilter

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
