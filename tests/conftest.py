"""Suite-wide fixtures: no outbound network, the bundled model once, a fake LLM server."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer
from needs import unavailable

from rag.encoders import TransformerEncoder

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "docs"
SHARED = REPO.parent / "shared"
FINANCEBENCH = SHARED / "data" / "financebench"

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, str | bytes):
        return True  # a Unix socket path
    if not (isinstance(address, tuple) and address):
        return False
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly on any socket to a non-loopback address (a hidden download)."""

    def guarded(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def financebench_pdfs() -> Path:
    """The shared FinanceBench PDFs; missing, they fail the run in CI and skip elsewhere."""
    folder = FINANCEBENCH / "pdfs"
    if not folder.is_dir():
        unavailable(f"{folder} not found: ../shared must sit beside the repo")
    return folder


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A private copy of the sample documents (handbook.md, security.html, travel-policy.txt)."""
    folder = tmp_path / "docs"
    shutil.copytree(EXAMPLES, folder)
    return folder


@pytest.fixture(scope="session")
def encoder() -> TransformerEncoder:
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    return TransformerEncoder().load()


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A started fake OpenAI-compatible chat server on 127.0.0.1; see ``tests/fake_openai.py``."""
    with FakeOpenAIServer() as server:
        yield server
