"""Request bodies of the HTTP API; responses reuse the JSON shapes of ``rag.serialize``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.api.limits import (
    MAX_INSTRUCTION_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_MESSAGES,
    MAX_QUERY_CHARS,
)
from rag.errors import InputError
from rag.text import check_text
from rag.types import SearchFilter

Values = str | list[str] | None


def _values(value: Values) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _check_strings(value: Any, where: str) -> None:
    """Refuse any string in ``value`` (nested lists and objects too) that is not valid text."""
    if isinstance(value, str):
        try:
            check_text(value, f"field {where!r}")
        except InputError as e:
            raise ValueError(str(e)) from e
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where)
            _check_strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, f"{where}.{i}")


class _Body(BaseModel):
    """A request body: every string in it must be valid Unicode text (422 otherwise)."""

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        _check_strings(data, "")
        return data


class _Filtered(_Body):
    """Search options shared by ``/search`` and chat: how many chunks, from which documents."""

    k: int | None = Field(default=None, ge=1, le=1000, description="Chunks to retrieve.")
    source: Values = Field(default=None, description="Only these stored source paths.")
    doc_id: Values = Field(default=None, description="Only these document ids.")

    def search_filter(self) -> SearchFilter:
        """The filter the request asks for (empty: every document)."""
        return SearchFilter(sources=_values(self.source), doc_ids=_values(self.doc_id))


class SearchRequest(_Filtered):
    """``POST /search``."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)


class TextPart(_Body):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(_Body):
    """One message of an OpenAI chat request."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text, text parts joined by newlines."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""

    @model_validator(mode="after")
    def _short_enough(self) -> ChatMessage:
        if len(self.text()) > MAX_MESSAGE_CHARS:
            raise ValueError(f"a message is longer than {MAX_MESSAGE_CHARS} characters")
        return self


class ChatRequest(_Filtered):
    """``POST /v1/chat/completions``: OpenAI's fields (others are accepted and ignored).

    ``k``, ``source`` and ``doc_id`` are LateRAG extras (the openai client's ``extra_body``).
    """

    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False

    @model_validator(mode="after")
    def _sizes(self) -> ChatRequest:
        if len(self.question()) > MAX_QUERY_CHARS:
            raise ValueError(f"the last user message is longer than {MAX_QUERY_CHARS} characters")
        if len(self.instructions()) > MAX_INSTRUCTION_CHARS:
            raise ValueError(
                f"the system messages are longer than {MAX_INSTRUCTION_CHARS} characters"
            )
        return self

    def _last_user(self) -> int:
        return max((i for i, m in enumerate(self.messages) if m.role == "user"), default=-1)

    def question(self) -> str:
        """The last user message's text."""
        last = self._last_user()
        return self.messages[last].text().strip() if last >= 0 else ""

    def instructions(self) -> str:
        """The system and developer messages' text, in order, for the generator."""
        texts = (m.text().strip() for m in self.messages if m.role in ("system", "developer"))
        return "\n\n".join(t for t in texts if t)

    def history(self) -> list[tuple[str, str]]:
        """The earlier turns, as (question, answer) pairs, before the last user message."""
        turns: list[tuple[str, str]] = []
        for message in self.messages[: max(self._last_user(), 0)]:
            text = message.text().strip()
            if message.role == "user" and text:
                turns.append((text, ""))
            elif message.role == "assistant" and turns and text:
                asked, answered = turns[-1]
                turns[-1] = (asked, f"{answered}\n{text}".strip())
        return turns
