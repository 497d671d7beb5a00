"""Answer generation: a prompt with numbered passages, an LLM or extractive generator, citations."""

from __future__ import annotations

from rag.config import LLMConfig
from rag.generation.citations import (
    NO_ANSWER_TEXT,
    NO_HITS_TEXT,
    build_answer,
    citation_for,
    cited_numbers,
    drain,
    no_hits_answer,
    parse_citations,
)
from rag.generation.extractive import MIN_SCORE, ExtractiveGenerator
from rag.generation.openai_chat import OpenAIChatGenerator
from rag.generation.prompt import SYSTEM_PROMPT, Prompt, build_prompt, format_context
from rag.protocols import Generator, TokenEmbedder


def generator_for(config: LLMConfig, embedder: TokenEmbedder) -> Generator:
    """Return the LLM generator when ``config`` names an endpoint, else the extractive one."""
    if config.enabled:
        return OpenAIChatGenerator(config)
    return ExtractiveGenerator(embedder)


__all__ = [
    "MIN_SCORE",
    "NO_ANSWER_TEXT",
    "NO_HITS_TEXT",
    "SYSTEM_PROMPT",
    "ExtractiveGenerator",
    "OpenAIChatGenerator",
    "Prompt",
    "build_answer",
    "build_prompt",
    "citation_for",
    "cited_numbers",
    "drain",
    "format_context",
    "generator_for",
    "no_hits_answer",
    "parse_citations",
]
