"""Oversized bodies are refused fast, never echoed; errors carry OpenAI kinds; URL keys hide."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.api.limits import MAX_JSON_BYTES, MAX_MESSAGE_CHARS, MAX_MESSAGES, MAX_QUERY_CHARS
from rag.config import LLMConfig
from rag.sdk import RAG

NewRag = Callable[..., RAG]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
MARK = "zqxj"  # a run of it is the oversized text; it must never come back


@pytest.fixture
def client(docs_rag: RAG, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(docs_rag, upload_dir=tmp_path)) as http:
        yield http


def _refused(response: object, status: int) -> dict[str, str]:
    assert getattr(response, "status_code") == status, getattr(response, "text")  # noqa: B009
    text = getattr(response, "text")  # noqa: B009
    assert MARK * 3 not in text and len(text) < 2000  # never echoed back
    error: dict[str, str] = getattr(response, "json")()["error"]  # noqa: B009
    return error


def test_a_20_mb_query_is_refused_before_it_is_read(client: TestClient) -> None:
    query = MARK * (5 * 1024 * 1024)
    error = _refused(client.post("/search", json={"query": query}), 413)
    assert error["type"] == "invalid_request_error" and error["code"] == "request_too_large"
    assert str(MAX_JSON_BYTES) in error["message"]


def test_a_chunked_body_over_the_limit_is_cut_off(client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(40):
            yield MARK.encode() * 16384
        yield b'"}'

    _refused(
        client.post("/search", content=body(), headers={"content-type": "application/json"}), 413
    )


def test_a_query_over_the_length_limit_is_422_without_the_query(client: TestClient) -> None:
    error = _refused(client.post("/search", json={"query": MARK * (MAX_QUERY_CHARS // 4 + 1)}), 422)
    assert error["type"] == "invalid_request_error" and str(MAX_QUERY_CHARS) in error["message"]
    assert client.post("/search", json={"query": "x" * MAX_QUERY_CHARS}).status_code == 200


@pytest.mark.parametrize(
    ("messages", "why"),
    [
        ([{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1), "at most"),
        ([{"role": "user", "content": MARK * (MAX_MESSAGE_CHARS // 4 + 1)}], "longer than"),
        ([{"role": "user", "content": MARK * (MAX_QUERY_CHARS // 4 + 1)}], "last user message"),
        (
            [{"role": "system", "content": MARK * 2001}, {"role": "user", "content": "hi"}],
            "system messages",
        ),
    ],
)
def test_chat_messages_over_the_limits_are_422(
    client: TestClient, messages: list[dict[str, str]], why: str
) -> None:
    error = _refused(client.post("/v1/chat/completions", json={"messages": messages}), 422)
    assert why in error["message"] and error["type"] == "invalid_request_error"


def test_error_types_are_openai_kinds_not_class_names(
    new_rag: NewRag, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    llm = LLMConfig(base_url=openai_server.base_url, model="fake-model", max_retries=0)
    rag = new_rag(llm)
    rag.ingest([EXAMPLES / "handbook.md"])
    http = TestClient(create_app(rag, token="tok", upload_dir=tmp_path))
    auth = {"Authorization": "Bearer tok"}
    chat = {"messages": [{"role": "user", "content": "How many vacation days?"}]}
    openai_server.fail_next(500)
    failed = http.post("/v1/chat/completions", json=chat, headers=auth)
    assert failed.status_code == 502 and failed.json()["error"]["type"] == "api_error"
    assert http.post("/search", json={"query": "x"}).json()["error"]["type"] == (
        "authentication_error"
    )
    gone = http.delete("/documents/nope", headers=auth)
    assert gone.status_code == 404 and gone.json()["error"]["type"] == "not_found_error"


def test_a_key_in_the_llm_url_is_masked_in_502_bodies_and_logs(
    new_rag: NewRag,
    openai_server: FakeOpenAIServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "url-key-5ecr3t"
    base = openai_server.base_url.replace("http://", f"http://user:{secret}@")
    llm = LLMConfig(base_url=f"{base}?api-key={secret}", model="fake-model", max_retries=0)
    rag = new_rag(llm)
    rag.ingest([EXAMPLES / "handbook.md"])
    http = TestClient(create_app(rag, upload_dir=tmp_path))
    openai_server.fail_next(500)
    chat = {"messages": [{"role": "user", "content": "How many vacation days?"}]}
    with caplog.at_level(logging.DEBUG):
        failed = http.post("/v1/chat/completions", json=chat)
    assert failed.status_code == 502
    message = failed.json()["error"]["message"]
    assert "api-key=***" in message and "http://127.0.0.1" in message
    assert secret not in failed.text
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("rag")]
    assert ours and not any(secret in line for line in ours)  # httpx's own log is its affair


def test_an_unexpected_failure_is_a_json_server_error_without_details(
    docs_rag: RAG, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /srv/secret/path")

    http = TestClient(create_app(docs_rag, upload_dir=tmp_path), raise_server_exceptions=False)
    monkeypatch.setattr(docs_rag, "search", broken)
    failed = http.post("/search", json={"query": "x"})
    assert failed.status_code == 500
    assert failed.json() == {"error": {"message": "internal server error", "type": "server_error"}}
