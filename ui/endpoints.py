"""Which LLM endpoint the chat may call, with which key: the server's key stays on its endpoint."""

from __future__ import annotations

from pydantic import SecretStr, ValidationError

from rag.config import LLMConfig, problems
from rag.errors import ConfigError


def extractive(configured: LLMConfig) -> LLMConfig:
    """No LLM (extractive answers), keeping the configured timeout and retries."""
    return configured.model_copy(update={"base_url": None, "model": None, "api_key": None})


def chat_llm(
    configured: LLMConfig, base_url: str | None, model: str | None, api_key: str | None
) -> LLMConfig:
    """The LLM for what an app user typed; empty base URL and model: none (extractive).

    The configured key goes only to the configured base URL (the same string): any other
    endpoint is called with the key the user typed, or with none. Raises ``ConfigError`` when
    only one of base URL and model is given.
    """
    url = (base_url or "").strip() or None
    name = (model or "").strip() or None
    if url is None and name is None:
        return extractive(configured)
    if api_key:
        key: SecretStr | None = SecretStr(api_key)
    else:
        key = configured.api_key if url == configured.base_url else None
    data = {**configured.model_dump(), "base_url": url, "model": name, "api_key": key}
    try:
        return LLMConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(problems(e.errors())) from e
