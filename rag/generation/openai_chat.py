"""Answers from any OpenAI-compatible chat endpoint, streamed, with errors as GenerationError."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rag.config import LLMConfig
from rag.errors import ConfigError, GenerationError
from rag.generation.citations import build_answer, drain, no_hits_answer
from rag.generation.prompt import build_prompt
from rag.generation.retry import Attempts, RetryPolicy, acall, call
from rag.redact import masked_url, redact, url_secrets
from rag.types import Answer, Hit

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "not-needed"
"""Sent when no key is configured: local servers (llama.cpp, vLLM, Ollama) ignore it."""


class _Reading:
    """What one streamed answer has produced so far: text deltas and the finish reason."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.parts: list[str] = []
        self.attempts = Attempts()
        self.produced = False
        self.finish_reason: str | None = None

    def read(self, chunk: Any) -> list[str]:
        """Return the text deltas of one stream chunk, recording them and any finish reason."""
        choices: Any = getattr(chunk, "choices", None)
        if choices is None:
            raise ValueError("a stream chunk has no choices")
        deltas: list[str] = []
        for choice in choices:
            self.finish_reason = choice.finish_reason or self.finish_reason
            content = choice.delta.content
            if isinstance(content, str) and content:
                deltas.append(content)
                self.produced = self.produced or bool(content.strip())
        self.parts.extend(deltas)
        return deltas

    def warn_if_cut(self) -> None:
        """Log a warning when the stream ended without a proper finish."""
        if self.finish_reason is None:
            log.warning(
                "%s ended its stream without a finish reason; the answer may be cut", self.model
            )
        elif self.finish_reason == "length":
            log.warning("%s stopped at its token limit; the answer is cut short", self.model)


class OpenAIChatGenerator:
    """Streams answers from a chat-completions endpoint; the client is made on first use.

    A request that fails before the answer starts (refused connection, timeout, HTTP
    408/409/429/5xx) is retried ``config.max_retries`` times with exponential backoff and
    full jitter (``retry.RetryPolicy``), honouring ``Retry-After``; once the endpoint has
    started streaming, nothing is retried, so no text is ever repeated. The ``openai``
    client's own retries are off: this is the one policy.
    """

    def __init__(self, config: LLMConfig) -> None:
        if not config.base_url or not config.model:
            raise ConfigError("the LLM generator needs both a base URL and a model name")
        self.config = config
        self.name: str = config.model
        self.base_url: str = masked_url(config.base_url)
        self.retry = RetryPolicy(config.max_retries, config.retry_base_seconds)
        self._client: openai.OpenAI | None = None
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, openai.AsyncOpenAI
        ] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"OpenAIChatGenerator(model={self.name!r}, base_url={self.base_url!r})"

    def _api_key(self) -> str:
        """The configured key (the settings layer maps ``OPENAI_API_KEY``), else the placeholder."""
        if self.config.api_key is not None:
            return self.config.api_key.get_secret_value()
        return PLACEHOLDER_API_KEY

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.config.base_url,
            "api_key": self._api_key(),
            "timeout": self.config.timeout,
            "max_retries": 0,  # retried by ``self.retry``, which counts the attempts
        }

    def _openai(self) -> openai.OpenAI:
        if self._client is None:
            try:
                import openai
            except ImportError as e:  # pragma: no cover - openai is a core dependency
                raise ImportError("the LLM generator needs openai: pip install openai") from e
            self._client = openai.OpenAI(**self._client_options())
        return self._client

    def _async_openai(self) -> openai.AsyncOpenAI:
        """The asyncio client of the running event loop (one per loop: clients bind to it)."""
        import openai

        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = openai.AsyncOpenAI(**self._client_options())
        return client

    def _redact(self, text: str) -> str:
        """Return ``text`` as one short line with the API key and the URL's secrets masked."""
        key = self._api_key()
        secrets = url_secrets(self.config.base_url or "")
        text = redact(text, [*secrets, key] if key != PLACEHOLDER_API_KEY else secrets)
        line = " ".join(text.split())
        return line if len(line) <= 200 else line[:199] + "…"

    def _detail(self, err: openai.APIError) -> str:
        """Return the server's own error message, redacted, or an empty string."""
        body = err.body
        if isinstance(body, dict):
            body = body.get("message") or ""
        return self._redact(str(body)) if body else ""

    def _error(
        self, err: Exception, *, midstream: bool = False, attempts: int = 1
    ) -> GenerationError:
        """Translate an ``openai`` or stream-parsing failure into a one-line GenerationError."""
        import openai

        where = f"LLM endpoint {self.base_url}"
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        after = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(err, openai.APITimeoutError):
            return GenerationError(f"{where} timed out after {self.config.timeout:g}s{tries}")
        if isinstance(err, openai.APIConnectionError):
            if midstream:
                return GenerationError(
                    f"{where} dropped the connection in the middle of the answer"
                )
            return GenerationError(f"{where} unreachable{tries}")
        if isinstance(err, openai.APIStatusError):
            code = err.status_code
            if code in (401, 403):
                # Never the server's text here: some servers echo the key they refused.
                return GenerationError(
                    f"{where} refused the API key (HTTP {code}): check the key", status_code=code
                )
            if code == 429:
                message = f"{where} rate limited the request (HTTP 429{after}); try again later"
            elif code >= 500:
                message = f"{where} failed with a server error (HTTP {code}{after})"
            else:
                message = f"{where} rejected the request (HTTP {code}{after})"
            detail = self._detail(err)
            return GenerationError(f"{message}: {detail}" if detail else message, status_code=code)
        if isinstance(err, openai.APIError):
            detail = self._detail(err) or self._redact(err.message)
            return GenerationError(f"{where} reported an error in the stream: {detail}")
        return GenerationError(f"{where} sent a malformed stream ({type(err).__name__})")

    def _request(self, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        """The streaming chat-completions arguments for ``messages``."""
        return {
            "model": self.name,
            "messages": [dict(m) for m in messages],
            "temperature": self.config.temperature,
            "stream": True,
        }

    def _prompt_request(
        self, question: str, hits: Sequence[Hit], instructions: str
    ) -> dict[str, Any]:
        """The request answering ``question`` from the numbered ``hits``."""
        log.debug("asking %s at %s with %d passages", self.name, self.base_url, len(hits))
        prompt = build_prompt(question, hits, instructions)
        return self._request(
            [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
        )

    @contextmanager
    def _errors(self, reading: _Reading) -> Iterator[None]:
        """Turn any endpoint or stream failure inside the block into a ``GenerationError``."""
        import openai

        try:
            yield
        except openai.APIStatusError as err:
            # Not chained: the response body it carries may echo the key.
            raise self._error(err, attempts=reading.attempts.count) from None
        except (openai.OpenAIError, ValueError, AttributeError) as err:
            attempts = reading.attempts.count
            raise self._error(err, midstream=reading.produced, attempts=attempts) from err

    def _create(self, request: dict[str, Any], reading: _Reading) -> Any:
        """Open the streamed completion, retrying failures before it starts."""
        client = self._openai()
        return call(
            lambda: client.chat.completions.create(**request),
            self.retry,
            reading.attempts,
            what=f"LLM request to {self.base_url}",
        )

    def _answer(self, question: str, hits: Sequence[Hit], reading: _Reading) -> Answer:
        reading.warn_if_cut()
        if not reading.produced:
            raise GenerationError(f"LLM endpoint {self.base_url} returned an empty answer")
        return build_answer(question, "".join(reading.parts).strip(), hits, self.name)

    def stream(
        self, question: str, hits: Sequence[Hit], *, instructions: str = ""
    ) -> Generator[str, None, Answer]:
        """Yield the answer's text deltas, then return the answer with its citations.

        ``instructions`` go into the system message, under its rules (``build_prompt``).
        Raises ``GenerationError`` on any endpoint failure.
        """
        if not hits:
            answer = no_hits_answer(question, self.name)
            yield answer.text
            return answer
        reading = _Reading(self.name)
        with self._errors(reading):
            request = self._prompt_request(question, hits, instructions)
            stream = self._create(request, reading)
            try:
                for chunk in stream:
                    yield from reading.read(chunk)
            finally:
                stream.close()
        return self._answer(question, hits, reading)

    async def astream(
        self, question: str, hits: Sequence[Hit], *, instructions: str = ""
    ) -> AsyncGenerator[str | Answer, None]:
        """Like ``stream`` for asyncio, the request awaited; the answer comes last."""
        if not hits:
            answer = no_hits_answer(question, self.name)
            yield answer.text
            yield answer
            return
        reading = _Reading(self.name)
        with self._errors(reading):
            request = self._prompt_request(question, hits, instructions)
            client = self._async_openai()
            stream = await acall(
                lambda: client.chat.completions.create(**request),
                self.retry,
                reading.attempts,
                what=f"LLM request to {self.base_url}",
            )
            try:
                async for chunk in stream:
                    for delta in reading.read(chunk):
                        yield delta
            finally:
                await stream.close()
        yield self._answer(question, hits, reading)

    def generate(self, question: str, hits: Sequence[Hit], *, instructions: str = "") -> Answer:
        """Return the whole answer with citations parsed from its ``[n]`` markers."""
        return drain(self.stream(question, hits, instructions=instructions))

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """Send plain chat ``messages`` (no passages, no citations) and return the reply.

        Failures raise ``GenerationError`` exactly as answers do.
        """
        reading = _Reading(self.name)
        with self._errors(reading):
            stream = self._create(self._request(messages), reading)
            try:
                for chunk in stream:
                    reading.read(chunk)
            finally:
                stream.close()
        reading.warn_if_cut()
        return "".join(reading.parts).strip()
