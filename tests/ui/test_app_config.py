"""``rag ui --config FILE`` hands the app the whole configuration, and the app acts on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import rag.sdk
import ui.launch
from rag.cli import run
from rag.config import ChunkingConfig, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.sdk import RAG
from ui.settings import AppSettings

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MakeApp = Callable[..., AppTest]
NOTES = "# Cafeteria\n\n" + " ".join(
    f"On day {n} the cafeteria serves ramen, rice and miso soup to {n * 7} staff."
    for n in range(30)
)


def launched(monkeypatch: pytest.MonkeyPatch, *args: str) -> AppSettings:
    """The settings ``rag ui ARGS`` hands the launcher."""
    calls: list[AppSettings] = []
    monkeypatch.setattr(ui.launch, "run_app", lambda settings, port: calls.append(settings) or 0)
    assert run(["ui", *args]) == 0
    [settings] = calls
    return settings


def test_rag_ui_hands_the_app_the_whole_merged_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file = tmp_path / "laterag.toml"
    file.write_text(
        "top_k = 9\n[retrieval]\nhybrid = true\ntitle_weight = 0\n[chunking]\nchunk_size = 32\n"
        "[rerank]\ncandidates = 12\n[app]\nallow_user_llm_endpoints = true\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    config = launched(monkeypatch, "--config", str(file), "--per-page", "0").config
    assert config.top_k == 9 and config.chunking.chunk_size == 32
    assert config.retrieval.hybrid and config.retrieval.title_weight == 0
    assert config.retrieval.per_page == 0 and config.rerank.candidates == 12  # flags too
    assert config.app.allow_user_llm_endpoints
    assert config.llm.api_key is not None  # read from the environment, sent apart
    plain = launched(monkeypatch, "--allow-user-llm-endpoints", "-k", "3").config
    assert plain.app.allow_user_llm_endpoints and plain.top_k == 3
    assert not launched(monkeypatch).config.app.allow_user_llm_endpoints  # off by default


def test_a_config_file_changes_k_retrieval_and_chunking_in_the_app(
    monkeypatch: pytest.MonkeyPatch,
    make_app: MakeApp,
    store: Path,
    tmp_path: Path,
    encoder: TransformerEncoder,
    settle: Callable[[AppTest], AppTest],
) -> None:
    file = tmp_path / "laterag.toml"
    file.write_text(
        f'top_k = 9\n[store]\npath = "{store}"\ncollection = "team"\n'
        "[retrieval]\nhybrid = true\ntitle_weight = 0\n[chunking]\nchunk_size = 32\n"
    )
    config = launched(monkeypatch, "--config", str(file)).config
    hybrid: list[int] = []
    search = rag.sdk.HybridRetriever.retrieve
    monkeypatch.setattr(
        rag.sdk.HybridRetriever,
        "retrieve",
        lambda self, query, k, search_filter=None: (
            hybrid.append(k) or search(self, query, k, search_filter)
        ),
    )
    at = make_app(config)
    assert at.slider(key="top_k").value == 9
    captions = [c.value for c in at.sidebar.caption]
    assert "Hybrid search (dense and BM25, rrf fusion), one passage a page." in captions
    at.file_uploader[0].set_value([("cafeteria.md", NOTES.encode(), "text/markdown")]).run()
    at = settle(at.button(key="ingest").click().run())
    at = at.chat_input[0].set_value("What does the cafeteria serve?").run()
    assert hybrid and hybrid[0] >= 9  # searched hybrid, for the configured k
    assert "ramen" in "\n".join(md.value for md in at.chat_message[-1].markdown)
    chunks = {}
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "cafeteria.md").write_text(NOTES)
    for size in (32, ChunkingConfig().chunk_size):
        chunking = ChunkingConfig(chunk_size=size)
        where = StoreConfig(path=tmp_path / f"s{size}")
        with RAG(RAGConfig(store=where, chunking=chunking), encoder=encoder) as sdk:
            chunks[size] = sdk.ingest([tmp_path / "notes"]).files[0].chunks
    assert chunks[32] > chunks[ChunkingConfig().chunk_size]
    listed = "\n".join(md.value for md in at.sidebar.markdown).replace("\\", "")
    assert f"**cafeteria.md**  \n{chunks[32]} chunks" in listed
