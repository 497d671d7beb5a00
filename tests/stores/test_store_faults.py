"""A store that cannot be reached or is held elsewhere: one clear line, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rag import RAG, RAGConfig, StoreConfig
from rag.cli import run
from rag.encoders import TransformerEncoder
from rag.errors import StoreError, StoreLockedError
from rag.stores.edge import EdgeStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection"),
]

KEY = "store-SECRET-key"


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("command", [["search", "vacation"], ["ingest"], ["stats"]])
def test_cli_with_an_unreachable_server_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], dead_url: str, docs: Path, command: list[str]
) -> None:
    args = [*command, *([str(docs)] if command == ["ingest"] else [])]
    code = run([*args, "--qdrant-url", dead_url, "--qdrant-api-key", KEY])
    out, err = capsys.readouterr()
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and dead_url in errors[0], err
    assert "Traceback" not in err and KEY not in err + out


def test_sdk_with_an_unreachable_server_raises_a_store_error(
    dead_url: str, encoder: TransformerEncoder
) -> None:
    config = RAGConfig(store=StoreConfig(url=dead_url, api_key=KEY))
    with pytest.raises(StoreError) as caught:
        RAG(config, encoder=encoder).search("vacation")
    assert dead_url in str(caught.value) and "\n" not in str(caught.value)
    assert KEY not in str(caught.value)


def test_sdk_and_cli_on_a_locked_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    store_dir = tmp_path / "store"
    with RAG(RAGConfig(store=StoreConfig(path=store_dir)), encoder=encoder) as rag:
        rag.ingest([docs / "handbook.md"])
    with EdgeStore(store_dir / "default"):
        with pytest.raises(StoreLockedError) as caught:
            RAG(RAGConfig(store=StoreConfig(path=store_dir)), encoder=encoder).documents()
        assert str(store_dir) in str(caught.value) and "\n" not in str(caught.value)
        code = run(["ingest", str(docs / "travel-policy.txt"), "--store", str(store_dir)])
        out, err = capsys.readouterr()
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "in use by another process" in errors[0], err
