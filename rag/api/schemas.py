"""Request bodies of the HTTP API; responses reuse the JSON shapes of ``rag.serialize``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.types import SearchFilter

Values = str | list[str] | None


def _values(value: Values) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class _Filtered(BaseModel):
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

    query: str = Field(min_length=1)


class TextPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text, text parts joined by newlines."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatRequest(_Filtered):
    """``POST /v1/chat/completions``: OpenAI's fields (others are accepted and ignored).

    ``k``, ``source`` and ``doc_id`` are LateRAG extras (the openai client's ``extra_body``).
    """

    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False

    def question(self) -> str:
        """The last user message's text: earlier turns are not used."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text().strip()
        return ""


def error_body(message: str, kind: str, **extra: Any) -> dict[str, Any]:
    """The body of every error response, shaped as OpenAI's so its clients show the message."""
    return {"error": {"message": message, "type": kind, **extra}}
