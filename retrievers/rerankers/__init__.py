"""Rerankers behind one protocol: a cross-encoder, the embedder with feedback, or an LLM."""

from __future__ import annotations

from rag.config import RerankConfig
from rag.errors import ConfigError
from rag.protocols import ChatModel, Embedder, Reranker
from retrievers.rerankers.cross_encoder import CrossEncoderReranker
from retrievers.rerankers.embedding_prf import EmbeddingPRFReranker, prf_scores
from retrievers.rerankers.llm import LLMReranker, build_messages, parse_order

RERANKERS = ("cross-encoder", "embedding", "llm")
"""The reranker kinds ``make_reranker`` builds (besides "none")."""


def make_reranker(
    config: RerankConfig, *, encoder: Embedder, chat: ChatModel | None
) -> Reranker | None:
    """Return the reranker ``config`` asks for, or None for kind "none"; loads nothing yet.

    ``chat`` is the configured LLM, None when there is none.
    """
    kind = config.kind
    if kind == "none":
        return None
    if kind == "cross-encoder":
        if not config.model:
            raise ConfigError(
                "the cross-encoder reranker needs a model: a Hugging Face name or folder, "
                "e.g. BAAI/bge-reranker-base or cross-encoder/ms-marco-MiniLM-L-6-v2"
            )
        return CrossEncoderReranker(config.model)
    if kind == "embedding":
        return EmbeddingPRFReranker(encoder, feedback=config.feedback, alpha=config.alpha)
    if kind == "llm":
        if chat is None:
            raise ConfigError(
                "the llm reranker needs an LLM endpoint: set both the LLM base URL and model"
            )
        return LLMReranker(chat)
    raise ConfigError(f"unknown reranker {kind!r}; choose one of: none, {', '.join(RERANKERS)}")


__all__ = [
    "RERANKERS",
    "CrossEncoderReranker",
    "EmbeddingPRFReranker",
    "LLMReranker",
    "build_messages",
    "make_reranker",
    "parse_order",
    "prf_scores",
]
