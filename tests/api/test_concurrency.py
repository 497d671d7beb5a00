"""``/search`` and ``/health`` answer while a chat stream or an ingest is in progress.

Each test holds the slow operation mid-way with an event, asks the other routes, then lets
it finish: on a server that serialises whole requests the asks wait for the release and time
out (the generous timeout is a hang guard, not a timing goal).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_openai import FakeOpenAIServer
from fastapi import FastAPI
from fastapi.testclient import TestClient

import ingestion.executors.local as local_executor
from rag.api import create_app
from rag.config import LLMConfig
from rag.sdk import RAG

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
HANG_GUARD = 30.0
Serve = Callable[[FastAPI], str]
NewRag = Callable[..., RAG]


def _search_and_health(url: str) -> None:
    """Ask ``/search`` and ``/health`` and check both answer properly."""
    with httpx.Client(base_url=url, timeout=HANG_GUARD) as http:
        found = http.post("/search", json={"query": "vacation days", "k": 2})
        health = http.get("/health")
    assert found.status_code == 200, found.text
    assert found.json()["hits"]
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_search_and_health_answer_during_a_chat_stream(
    new_rag: NewRag, serve: Serve, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    rag = new_rag(LLMConfig(base_url=openai_server.base_url, model="fake-model"))
    assert not rag.ingest([EXAMPLES]).failed
    url = serve(create_app(rag, upload_dir=tmp_path))
    openai_server.release = threading.Event()
    streamed: list[str] = []

    def chat() -> None:
        body = {"messages": [{"role": "user", "content": "Capital?"}], "stream": True}
        with (
            httpx.Client(base_url=url, timeout=HANG_GUARD) as http,
            http.stream("POST", "/v1/chat/completions", json=body) as response,
        ):
            streamed.extend(response.iter_lines())

    talker = threading.Thread(target=chat)
    talker.start()
    try:
        assert openai_server.streaming.wait(HANG_GUARD), "the chat stream did not start"
        _search_and_health(url)
        assert talker.is_alive()  # the answer is still held mid-stream
    finally:
        openai_server.release.set()
        talker.join(HANG_GUARD)
    assert [line for line in streamed if line][-1] == "data: [DONE]"
    assert any("Paris" in line for line in streamed)


def test_search_and_health_answer_during_an_ingest(
    new_rag: NewRag, serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = new_rag()
    assert not rag.ingest([EXAMPLES]).failed
    url = serve(create_app(rag, upload_dir=tmp_path / "uploads"))
    loading, release = threading.Event(), threading.Event()
    real_load = local_executor.load_document

    def slow_load(path: Path) -> Any:  # the upload's load waits for the release
        loading.set()
        release.wait(HANG_GUARD)
        return real_load(path)

    monkeypatch.setattr(local_executor, "load_document", slow_load)
    answers: list[httpx.Response] = []

    def upload() -> None:
        files = {"file": ("notes.md", b"# Notes\n\nThe office plant is called Fern.\n")}
        with httpx.Client(base_url=url, timeout=HANG_GUARD) as http:
            answers.append(http.post("/ingest", files=files))

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert loading.wait(HANG_GUARD), "the ingest did not start"
        before = httpx.get(f"{url}/health", timeout=HANG_GUARD).json()["documents"]
        _search_and_health(url)
        assert uploader.is_alive()  # the ingest is still held
    finally:
        release.set()
        uploader.join(HANG_GUARD)
    assert answers and answers[0].status_code == 200, answers
    after = httpx.get(f"{url}/health", timeout=HANG_GUARD).json()["documents"]
    assert after == before + 1  # the cached count follows the ingest


def test_health_never_waits_for_the_store_or_the_model(docs_rag: RAG, tmp_path: Path) -> None:
    client = TestClient(create_app(docs_rag, upload_dir=tmp_path))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # as a long store call and forward pass would
        with docs_rag.locks.write, docs_rag.locks.store, docs_rag.locks.model:
            held.set()
            release.wait(HANG_GUARD)

    holder = threading.Thread(target=hold)
    holder.start()
    answers: list[httpx.Response] = []
    asker = threading.Thread(target=lambda: answers.append(client.get("/health")))
    try:
        assert held.wait(HANG_GUARD)
        asker.start()
        asker.join(HANG_GUARD)
        assert answers, "/health waited for a lock"
    finally:
        release.set()
        holder.join(HANG_GUARD)
        asker.join(HANG_GUARD)
    assert answers[0].json() == {"status": "ok", "collection": "docs", "documents": 3}
