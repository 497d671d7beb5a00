"""Fixtures for the chat app: a pre-ingested store and the app under AppTest with our encoder."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.resources
from rag.access import Principal
from rag.config import RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.sdk import RAG
from ui.settings import ENV_SETTINGS, SECRETS, AppSettings, settings_env

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "ui" / "app.py"


def _ingest(
    store: Path, docs: Path, encoder: TransformerEncoder, collection: str = "default"
) -> None:
    """Ingest ``docs`` into ``store``'s ``collection`` with the session encoder."""
    config = RAGConfig(store=StoreConfig(path=store, collection=collection))
    with RAG(config, encoder=encoder) as rag:
        report = rag.ingest([docs])
    assert not report.failed, report.failed


@pytest.fixture
def store(tmp_path: Path, docs: Path, encoder: TransformerEncoder) -> Path:
    """A store folder whose ``default`` collection holds the three sample documents."""
    folder = tmp_path / "store"
    _ingest(folder, docs, encoder)
    return folder


@pytest.fixture
def ingest(encoder: TransformerEncoder) -> Callable[..., None]:
    """Return ``ingest(store, docs, collection="default")`` using the session encoder."""
    return lambda store, docs, collection="default": _ingest(store, docs, encoder, collection)


@pytest.fixture
def make_app(
    monkeypatch: pytest.MonkeyPatch, encoder: TransformerEncoder, store: Path
) -> Iterator[Callable[..., AppTest]]:
    """Return ``make(config=None, *, max_upload_mb=50, principal=anonymous, **env)``.

    It runs the app as ``rag ui`` would hand it ``config`` (store path defaulting to the
    sample store), with ``env`` (secrets, say) added to the environment.
    """
    monkeypatch.setattr(ui.resources, "build_encoder", lambda config: encoder)
    for name in (ENV_SETTINGS, *SECRETS.values()):
        monkeypatch.delenv(name, raising=False)

    def make(
        config: RAGConfig | None = None,
        *,
        max_upload_mb: int = 50,
        principal: Principal | None = None,
        **env: str,
    ) -> AppTest:
        config = config or RAGConfig()
        if config.store.path == StoreConfig().path:
            config = config.model_copy(
                update={"store": config.store.model_copy(update={"path": store})}
            )
        settings = AppSettings(config, max_upload_mb, principal or Principal())
        for name, value in {**settings_env(settings), **env}.items():
            monkeypatch.setenv(name, value)
        return AppTest.from_file(str(APP), default_timeout=60).run()

    yield make
    st.cache_resource.clear()  # drops (and so closes) the stores the app opened
    st.cache_data.clear()


def _settle(at: AppTest, timeout: float = 120.0) -> AppTest:
    """Rerun the app until its background ingest has ended and the page shows the outcome."""
    deadline = time.monotonic() + timeout
    while any(c.value.startswith("In progress:") for c in at.sidebar.caption):
        if time.monotonic() > deadline:
            pytest.fail(f"the app's ingest did not end within {timeout:g}s")
        time.sleep(0.2)
        at = at.run()
    return at.run()  # the rerun a finished job asks for


@pytest.fixture
def settle() -> Callable[..., AppTest]:
    """Return ``settle(at)``: ``at`` rerun until the app's background ingest has ended."""
    return _settle
