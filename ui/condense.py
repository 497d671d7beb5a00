"""Follow-up questions rewritten as standalone questions by the configured LLM, for retrieval."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from urllib.parse import urlsplit

from rag.config import LLMConfig
from rag.errors import ConfigError, GenerationError

logger = logging.getLogger(__name__)

CONDENSE_PROMPT = (
    "Rewrite the user's last question as one standalone question that can be understood "
    "without the conversation, keeping every name, number and term it refers to. "
    "Reply with the question only."
)
HISTORY_TURNS = 3
"""How many earlier question-answer pairs the rewrite sees."""
ANSWER_CHARS = 600
"""How much of each earlier answer the rewrite sees."""


def _where(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url


def condense_messages(history: Sequence[tuple[str, str]], question: str) -> list[dict[str, str]]:
    """Return the chat messages asking for ``question`` rewritten against ``history``."""
    lines = []
    for asked, answered in history[-HISTORY_TURNS:]:
        lines.append(f"User: {asked}")
        lines.append(f"Assistant: {answered[:ANSWER_CHARS]}")
    conversation = "\n".join(lines)
    return [
        {"role": "system", "content": CONDENSE_PROMPT},
        {"role": "user", "content": f"Conversation:\n{conversation}\n\nLast question: {question}"},
    ]


def condense_question(history: Sequence[tuple[str, str]], question: str, config: LLMConfig) -> str:
    """Return ``question`` made standalone using ``history``; unchanged without history.

    Raises ``GenerationError`` when the endpoint fails.
    """
    if not history:
        return question
    if not config.base_url or not config.model:
        raise ConfigError("condensing a question needs an LLM base URL and model")
    import openai

    key = config.api_key.get_secret_value() if config.api_key else None
    client = openai.OpenAI(
        base_url=config.base_url,
        api_key=key or os.environ.get("OPENAI_API_KEY") or "not-needed",
        timeout=config.timeout,
        max_retries=config.max_retries,
    )
    where = f"LLM endpoint {_where(config.base_url)}"
    try:
        reply = client.chat.completions.create(
            model=config.model,
            messages=condense_messages(history, question),  # type: ignore[arg-type]
            temperature=0.0,
        )
    except openai.APIStatusError as e:
        # Not chained: the response body may echo the key.
        raise GenerationError(
            f"{where} failed with HTTP {e.status_code} while reading the follow-up question",
            status_code=e.status_code,
        ) from None
    except openai.APITimeoutError as e:
        raise GenerationError(f"{where} timed out after {config.timeout:g}s") from e
    except openai.OpenAIError as e:
        raise GenerationError(f"{where} unreachable ({type(e).__name__})") from e
    finally:
        client.close()
    text = (reply.choices[0].message.content or "").strip() if reply.choices else ""
    standalone = " ".join(text.split())
    logger.debug("condensed %r to %r", question, standalone)
    return standalone or question
