"""``rag serve`` end to end: a real uvicorn in a thread, uploads, and the openai client."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from rag.cli import run

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
TOKEN = "cli-token-42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[str, Path]]:
    """Run ``rag serve --store DIR --port N`` (token from the env) until the test ends."""
    servers: list[uvicorn.Server] = []
    real_server = uvicorn.Server

    def run_stoppable(app: Any, **options: Any) -> None:  # uvicorn.run, but we can stop it
        servers.append(real_server(uvicorn.Config(app, **options)))
        servers[0].run()

    monkeypatch.setattr(uvicorn, "run", run_stoppable)
    monkeypatch.setenv("LATERAG_API_TOKEN", TOKEN)
    port, store = free_port(), tmp_path / "store"
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(run(["serve", "--store", str(store), "--port", str(port)])),
        daemon=True,
    )
    thread.start()
    for _ in range(600):
        if (servers and servers[0].started) or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert servers and servers[0].started, f"rag serve did not start: {capsys.readouterr().err}"
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        servers[0].should_exit = True
        thread.join(timeout=10)
    assert codes == [0]
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:{port}" in err and "bearer token required" in err
    assert TOKEN not in err


def test_rag_serve_ingests_uploads_and_streams_cited_answers(served: tuple[str, Path]) -> None:
    url, store = served
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{url}/health").json()["documents"] == 0
    assert httpx.get(f"{url}/documents").status_code == 401

    files = [("files", (p.name, p.read_bytes())) for p in sorted(EXAMPLES.iterdir())]
    report = httpx.post(f"{url}/ingest", files=files, headers=auth, timeout=120).json()
    assert report["ingested"] == 3
    uploads = store / "uploads" / "default" / "anonymous"
    assert sorted(p.name for p in uploads.iterdir()) == sorted(p.name for p in EXAMPLES.iterdir())

    client = openai.OpenAI(base_url=f"{url}/v1", api_key=TOKEN, max_retries=0, timeout=60)
    chunks = list(
        client.chat.completions.create(
            model="laterag",
            messages=[{"role": "user", "content": "What is the hotel limit per night in Tokyo?"}],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "320 US dollars" in text and "[1]" in text
    [first, *_] = chunks[-1].model_extra["citations"]
    assert first["number"] == 1 and first["source"] == str(uploads / "travel-policy.txt")
