"""Faults around the LLM: retries with backoff before an answer starts, then one clear error."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import time
from types import SimpleNamespace

import pytest
from fake_openai import FakeOpenAIServer
from pydantic import SecretStr

from rag.config import LLMConfig
from rag.errors import GenerationError
from rag.generation import OpenAIChatGenerator
from rag.generation.retry import RetryPolicy, retry_after
from rag.types import Answer, Chunk, Hit

KEY = "sk-test-SECRET"


def hits() -> list[Hit]:
    chunk = Chunk(
        doc_id="d",
        source="/data/atlas.pdf",
        content_hash="h",
        index=0,
        text="Paris is the capital of France.",
        char_span=(0, 31),
    )
    return [Hit(chunk=chunk, score=0.9)]


def generator(
    base_url: str, *, max_retries: int = 2, base: float = 0.001, timeout: float = 5.0
) -> OpenAIChatGenerator:
    config = LLMConfig(
        base_url=base_url,
        model="fake-model",
        api_key=SecretStr(KEY),
        max_retries=max_retries,
        retry_base_seconds=base,
        timeout=timeout,
    )
    return OpenAIChatGenerator(config)


def one_line_without_key(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "SECRET" not in text
    return text


def test_rate_limited_twice_then_answered_honouring_retry_after(
    openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    openai_server.fail_next(429, times=2)  # each 429 carries retry-after-ms: 10
    answer = generator(openai_server.base_url, base=30.0).generate("q", hits())
    assert answer.text == openai_server.reply
    assert len(openai_server.requests) == 3
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all("HTTP 429" in m and "retrying in 0.01s" in m for m in retries)  # not 30 s
    assert "SECRET" not in caplog.text


def test_a_server_error_that_persists_ends_in_one_clear_error(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.fail_next(500, times=100)
    with pytest.raises(GenerationError) as info:
        generator(openai_server.base_url, max_retries=3).generate("q", hits())
    assert len(openai_server.requests) == 4
    assert info.value.status_code == 500
    text = one_line_without_key(info.value)
    assert f"LLM endpoint {openai_server.base_url} failed with a server error" in text
    assert "(HTTP 500 after 4 attempts)" in text


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_refusals_are_not_retried(openai_server: FakeOpenAIServer, status: int) -> None:
    openai_server.fail_next(status, times=5)
    with pytest.raises(GenerationError) as info:
        generator(openai_server.base_url).generate("q", hits())
    assert len(openai_server.requests) == 1
    assert info.value.status_code == status
    assert "attempts" not in one_line_without_key(info.value)


def test_max_retries_zero_sends_one_request(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(503, times=5)
    with pytest.raises(GenerationError, match=r"\(HTTP 503\)"):
        generator(openai_server.base_url, max_retries=0).generate("q", hits())
    assert len(openai_server.requests) == 1


def test_a_malformed_stream_is_not_retried(openai_server: FakeOpenAIServer) -> None:
    openai_server.malformed = True
    with pytest.raises(GenerationError, match="sent a malformed stream"):
        generator(openai_server.base_url).generate("q", hits())
    assert len(openai_server.requests) == 1


def test_a_timeout_is_retried_then_reported(openai_server: FakeOpenAIServer) -> None:
    openai_server.delay = 1.0
    with pytest.raises(GenerationError) as info:
        generator(openai_server.base_url, max_retries=1, timeout=0.2).generate("q", hits())
    assert len(openai_server.requests) == 2
    assert one_line_without_key(info.value) == (
        f"LLM endpoint {openai_server.base_url} timed out after 0.2s (2 attempts)"
    )


def test_an_endpoint_that_is_down_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(GenerationError) as info:
        generator(url, max_retries=2).generate("q", hits())
    assert one_line_without_key(info.value) == f"LLM endpoint {url} unreachable (3 attempts)"


def test_a_stream_cut_after_text_is_never_retried(openai_server: FakeOpenAIServer) -> None:
    openai_server.drop_midstream = True
    deltas: list[str] = []
    with pytest.raises(GenerationError, match="dropped the connection in the middle"):
        deltas.extend(generator(openai_server.base_url).stream("q", hits()))
    assert deltas == ["Paris "]  # no text repeated by a second request
    assert len(openai_server.requests) == 1


def test_async_answers_retry_the_same_way(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(503, times=2)

    async def collect() -> list[object]:
        return [part async for part in generator(openai_server.base_url).astream("q", hits())]

    parts = asyncio.run(collect())
    assert isinstance(parts[-1], Answer) and parts[-1].text == openai_server.reply
    assert len(openai_server.requests) == 3


def test_plain_completions_retry_too(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(429)
    reply = generator(openai_server.base_url).complete([{"role": "user", "content": "hi"}])
    assert reply == openai_server.reply and len(openai_server.requests) == 2


def test_the_openai_client_does_not_retry_on_its_own(openai_server: FakeOpenAIServer) -> None:
    chat = generator(openai_server.base_url, max_retries=5)
    assert chat._openai().max_retries == 0
    assert chat.retry.max_retries == 5


def test_backoff_doubles_with_full_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=6, base_seconds=1.0, cap_seconds=8.0, rng=random.Random(3))
    for attempt, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        delays = [policy.delay(attempt) for _ in range(300)]
        assert all(0 <= d <= ceiling for d in delays)
        assert min(delays) < 0.1 * ceiling and max(delays) > 0.9 * ceiling
    assert policy.delay(0, retry_after=2.5) == 2.5
    assert policy.attempts == 7


def response_with(**headers: str) -> SimpleNamespace:
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return SimpleNamespace(response=SimpleNamespace(headers=named))


def test_retry_after_headers_are_read_in_every_form() -> None:
    assert retry_after(response_with(retry_after_ms="250")) == 0.25
    assert retry_after(response_with(retry_after="3")) == 3.0
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    waited = retry_after(response_with(retry_after=later))
    assert waited is not None and 15 < waited <= 20
    for bad in ("soon", "nan", "inf", ""):
        assert retry_after(response_with(retry_after=bad)) is None
    assert retry_after(response_with(retry_after="-5")) == 0.0
    assert retry_after(SimpleNamespace()) is None
