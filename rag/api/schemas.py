"""Request bodies of the HTTP API; responses reuse the JSON shapes of ``rag.serialize``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    query: str = Field(min_length=1)


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
