"""Suite-wide fixtures: no outbound network, and the bundled model loaded once."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FINANCEBENCH = SHARED / "data" / "financebench"

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    elif isinstance(address, str | bytes):
        return True  # a Unix socket path
    else:
        return False
    if host in ("localhost",):
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
    """The shared FinanceBench PDF folder; tests that need it skip only if shared/ is absent."""
    folder = FINANCEBENCH / "pdfs"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found: ../shared must sit beside the repo")
    return folder
