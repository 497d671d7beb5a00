"""Follow-up questions rewritten as standalone questions by an LLM, for retrieval.

The chat app and the API's chat completions both search with the rewritten question.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rag.protocols import ChatModel

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


def condense_question(history: Sequence[tuple[str, str]], question: str, chat: ChatModel) -> str:
    """Return ``question`` made standalone by ``chat`` using ``history``; unchanged without.

    Raises ``GenerationError`` when the endpoint fails.
    """
    if not history:
        return question
    reply = chat.complete(condense_messages(history, question))
    standalone = " ".join(reply.split())
    logger.debug("condensed %r to %r", question, standalone)
    return standalone or question
