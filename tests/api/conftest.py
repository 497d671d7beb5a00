"""HTTP API fixtures: RAGs over in-memory Qdrant, and the app served by a real uvicorn."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from rag.config import LLMConfig, RAGConfig
from rag.encoders import TransformerEncoder
from rag.sdk import RAG
from rag.stores.server import ServerStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


def _rag(encoder: TransformerEncoder, llm: LLMConfig | None = None) -> RAG:
    config = RAGConfig(llm=llm or LLMConfig())
    return RAG(config, encoder=encoder, store=ServerStore(location=":memory:", collection="docs"))


@pytest.fixture(scope="module")
def docs_rag(encoder: TransformerEncoder) -> Iterator[RAG]:
    """A RAG holding the three example documents; tests must not change it."""
    with _rag(encoder) as rag:
        assert not rag.ingest([EXAMPLES]).failed
        yield rag


@pytest.fixture
def new_rag(encoder: TransformerEncoder) -> Iterator[Callable[..., RAG]]:
    """Make empty RAGs over fresh in-memory collections (``llm=LLMConfig`` optional)."""
    made: list[RAG] = []

    def make(llm: LLMConfig | None = None) -> RAG:
        made.append(_rag(encoder, llm))
        return made[-1]

    yield make
    for rag in made:
        rag.close()


@contextmanager
def uvicorn_thread(app: FastAPI, port: int = 0) -> Iterator[str]:
    """Run ``app`` in a real uvicorn server on 127.0.0.1 in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Start an app in a real uvicorn server for the test; returns its base URL."""
    running: list[AbstractContextManager[str]] = []

    def start(app: FastAPI) -> str:
        context = uvicorn_thread(app)
        url = context.__enter__()
        running.append(context)
        return url

    yield start
    for context in reversed(running):
        context.__exit__(None, None, None)
