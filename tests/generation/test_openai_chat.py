from __future__ import annotations

import logging
import socket
import traceback

import pytest
from fake_openai import FakeOpenAIServer
from pydantic import SecretStr

from rag.config import LLMConfig
from rag.errors import ConfigError, GenerationError
from rag.generation import NO_HITS_TEXT, SYSTEM_PROMPT, OpenAIChatGenerator
from rag.protocols import Generator
from rag.types import Chunk, Hit

KEY = "sk-test-SECRET"


def make_hits() -> list[Hit]:
    texts = ["Paris is the capital of France.", "Berlin is the capital of Germany."]
    hits = []
    for i, text in enumerate(texts):
        chunk = Chunk(
            doc_id=f"doc-{i}",
            source=f"/data/atlas{i}.pdf",
            content_hash="h",
            index=i,
            text=text,
            char_span=(10 * i, 10 * i + len(text)),
            page_span=(i + 1, i + 2),
        )
        hits.append(Hit(chunk=chunk, score=0.9 - i / 10))
    return hits


def make_generator(
    server: FakeOpenAIServer, *, max_retries: int = 0, timeout: float = 5.0
) -> OpenAIChatGenerator:
    config = LLMConfig(
        base_url=server.base_url,
        model="fake-model",
        api_key=SecretStr(KEY),
        timeout=timeout,
        max_retries=max_retries,
    )
    return OpenAIChatGenerator(config)


def assert_no_key(err: BaseException) -> None:
    assert "SECRET" not in str(err)
    assert "SECRET" not in repr(err)
    assert "SECRET" not in "".join(traceback.format_exception(err))


def test_is_a_generator_and_constructs_without_a_client(openai_server: FakeOpenAIServer) -> None:
    generator = make_generator(openai_server)
    assert isinstance(generator, Generator)
    assert generator.name == "fake-model"
    assert generator._client is None
    assert openai_server.requests == []
    assert "SECRET" not in repr(generator)


def test_needs_base_url_and_model() -> None:
    with pytest.raises(ConfigError):
        OpenAIChatGenerator(LLMConfig())


def test_stream_deltas_join_to_the_reply(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = "Paris is the capital [1], not Berlin [2]."
    deltas = list(make_generator(openai_server).stream("Capital of France?", make_hits()))
    assert len(deltas) > 1
    assert "".join(deltas) == openai_server.reply


def test_stream_ends_with_the_same_answer_generate_gives(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = "  Paris [1].\n"
    generator, hits = make_generator(openai_server), make_hits()
    stream = generator.stream("Capital of France?", hits)
    deltas = []
    while True:
        try:
            deltas.append(next(stream))
        except StopIteration as done:
            streamed = done.value
            break
    assert "".join(deltas) == openai_server.reply
    assert streamed == generator.generate("Capital of France?", hits)
    assert streamed.text == "Paris [1]." and streamed.citations[0].doc_id == "doc-0"


def test_generate_returns_cited_answer(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = "It is Paris [1]. Compare [2][7]."
    hits = make_hits()
    answer = make_generator(openai_server).generate("Capital of France?", hits)
    assert answer.text == openai_server.reply
    assert answer.generator == "fake-model"
    assert answer.hits == tuple(hits)
    first, second = answer.citations
    assert (first.number, first.doc_id, first.page_span, first.char_span) == (
        1,
        "doc-0",
        (1, 2),
        (0, 31),
    )
    assert (second.number, second.doc_id, second.page_span) == (2, "doc-1", (2, 3))
    assert second.text == hits[1].chunk.text


def test_request_carries_numbered_passages(openai_server: FakeOpenAIServer) -> None:
    make_generator(openai_server).generate("Capital of France?", make_hits())
    (request,) = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["stream"] is True
    assert request.body["model"] == "fake-model"
    assert request.body["temperature"] == 0.0
    system, user = request.messages
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    content = user["content"]
    assert "[1] atlas0.pdf, pages 1-2:\nParis is the capital of France." in content
    assert "[2] atlas1.pdf, pages 2-3:\nBerlin is the capital of Germany." in content
    assert content.index("<context>") < content.index("[1]") < content.index("</context>")
    assert content.endswith("Question: Capital of France?")
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_no_hits_skips_the_llm(openai_server: FakeOpenAIServer) -> None:
    generator = make_generator(openai_server)
    answer = generator.generate("Anything?", [])
    assert answer.text == NO_HITS_TEXT and answer.citations == ()
    assert list(generator.stream("Anything?", [])) == [NO_HITS_TEXT]
    assert openai_server.requests == []
    assert generator._client is None


def test_key_from_config_or_placeholder_never_from_the_environment(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = LLMConfig(base_url=openai_server.base_url, model="m", max_retries=0)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")  # read by the settings layer only
    OpenAIChatGenerator(config).generate("q", make_hits())
    keyed = config.model_copy(update={"api_key": SecretStr("sk-configured")})
    OpenAIChatGenerator(keyed).generate("q", make_hits())
    auth = [r.headers["authorization"] for r in openai_server.requests]
    assert auth == ["Bearer not-needed", "Bearer sk-configured"]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "refused the API key"),
        (403, "refused the API key"),
        (429, "rate limited"),
        (500, "server error"),
        (503, "server error"),
        (400, "rejected the request"),
    ],
)
def test_http_errors_become_generation_errors(
    openai_server: FakeOpenAIServer, status: int, words: str
) -> None:
    openai_server.fail_next(status)
    with pytest.raises(GenerationError) as info:
        make_generator(openai_server).generate("q", make_hits())
    err = info.value
    assert err.status_code == status
    assert words in str(err)
    assert openai_server.base_url in str(err)
    assert "\n" not in str(err)
    assert_no_key(err)


def test_key_never_logged(
    openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    generator = make_generator(openai_server, max_retries=1)
    openai_server.fail_next(401)
    with pytest.raises(GenerationError):
        generator.generate("q", make_hits())
    openai_server.fail_next(429)
    generator.generate("q", make_hits())
    assert caplog.records
    assert "SECRET" not in caplog.text


@pytest.mark.parametrize("status", [429, 500])
def test_transient_failure_is_retried(openai_server: FakeOpenAIServer, status: int) -> None:
    openai_server.fail_next(status)
    answer = make_generator(openai_server, max_retries=1).generate("q", make_hits())
    assert answer.text == openai_server.reply
    assert len(openai_server.requests) == 2


def test_retries_run_out(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(429, times=3)
    with pytest.raises(GenerationError) as info:
        make_generator(openai_server, max_retries=1).generate("q", make_hits())
    assert info.value.status_code == 429
    assert len(openai_server.requests) == 2


def test_timeout(openai_server: FakeOpenAIServer) -> None:
    openai_server.delay = 2.0
    with pytest.raises(GenerationError, match="timed out") as info:
        make_generator(openai_server, timeout=0.2).generate("q", make_hits())
    assert info.value.status_code is None
    assert_no_key(info.value)


def test_unreachable_endpoint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = LLMConfig(
        base_url=f"http://user:pw@127.0.0.1:{port}/v1",
        model="m",
        api_key=SecretStr(KEY),
        max_retries=0,
    )
    with pytest.raises(GenerationError) as info:
        OpenAIChatGenerator(config).generate("q", make_hits())
    assert str(info.value) == f"LLM endpoint http://127.0.0.1:{port}/v1 unreachable"
    assert info.value.status_code is None
    assert_no_key(info.value)


def test_malformed_stream(openai_server: FakeOpenAIServer) -> None:
    openai_server.malformed = True
    with pytest.raises(GenerationError, match="malformed stream"):
        make_generator(openai_server).generate("q", make_hits())


def test_connection_dropped_mid_answer(openai_server: FakeOpenAIServer) -> None:
    openai_server.drop_midstream = True
    generator = make_generator(openai_server)
    deltas: list[str] = []
    with pytest.raises(GenerationError, match="dropped the connection in the middle"):
        deltas.extend(generator.stream("q", make_hits()))
    assert deltas == ["Paris "]


@pytest.mark.parametrize("finish_reason", ["length", None])
def test_cut_answers_are_kept_with_a_warning(
    openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture, finish_reason: str | None
) -> None:
    openai_server.finish_reason = finish_reason
    answer = make_generator(openai_server).generate("q", make_hits())
    assert answer.text == openai_server.reply
    assert any(r.levelno == logging.WARNING and "cut" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("reply", ["", "   "])
def test_empty_answer(openai_server: FakeOpenAIServer, reply: str) -> None:
    openai_server.reply = reply
    with pytest.raises(GenerationError, match="empty answer"):
        make_generator(openai_server).generate("q", make_hits())


def test_fake_server_answers_plain_json(openai_server: FakeOpenAIServer) -> None:
    import openai

    client = openai.OpenAI(base_url=openai_server.base_url, api_key="x", max_retries=0)
    completion = client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == openai_server.reply
    assert openai_server.requests[0].body.get("stream") in (None, False)
