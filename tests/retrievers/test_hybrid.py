"""Hybrid retrieval: an exact rare term dense search misses comes first, on both backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag import RAG, ChunkingConfig, ConfigError, RAGConfig, StoreConfig
from rag.cli import run
from rag.config import RetrievalConfig
from rag.config_file import load_config
from rag.encoders import TransformerEncoder
from rag.stores.server import ServerStore
from retrievers import DenseRetriever, HybridRetriever

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
QUESTION = "Which vendor sent invoice INV-40417?"
VENDORS = {40417: "Acme Corp", 40471: "Globex", 41047: "Initech", 44017: "Umbrella"}


@pytest.fixture
def invoices(tmp_path: Path) -> Path:
    """The sample documents plus a file of near-identical invoices that differ by number."""
    folder = tmp_path / "docs"
    shutil.copytree(EXAMPLES, folder)
    sections = [
        f"## {vendor}\n\nInvoice INV-{number} from {vendor} was paid by bank transfer "
        "after approval by the finance team.\n"
        for number, vendor in VENDORS.items()
    ]
    (folder / "invoices.md").write_text("# Invoices paid in March\n\n" + "\n".join(sections))
    return folder


def test_retrieval_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="use rrf to weight them"):
        RetrievalConfig(fusion="dbsf", sparse_weight=2.0)
    with pytest.raises(ValueError, match="both be 0"):
        RetrievalConfig(dense_weight=0.0, sparse_weight=0.0)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        RetrievalConfig(sparse_weight=-1.0)


def test_config_file_turns_hybrid_on(tmp_path: Path) -> None:
    path = tmp_path / "laterag.toml"
    path.write_text("[retrieval]\nhybrid = true\nsparse_weight = 2.5\n")
    config = load_config(path, env={})
    assert config.retrieval == RetrievalConfig(hybrid=True, sparse_weight=2.5)
    assert isinstance(RAG(config).retriever, HybridRetriever)
    assert isinstance(RAG(load_config(None, env={})).retriever, DenseRetriever)
    path.write_text("[retrieval]\nfusion = 'max'\n")
    with pytest.raises(ConfigError, match="retrieval.fusion"):
        load_config(path, env={})


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("backend", ["edge", "server"])
def test_hybrid_puts_the_exact_invoice_first(
    tmp_path: Path, invoices: Path, encoder: TransformerEncoder, backend: str
) -> None:
    store = ServerStore(location=":memory:") if backend == "server" else None
    late = ChunkingConfig(mode="late")
    config = RAGConfig(store=StoreConfig(path=tmp_path / "store"), chunking=late)
    with RAG(config, encoder=encoder, store=store) as rag:
        assert rag.ingest([invoices]).count("ingested") == 4
        dense = rag.retriever.retrieve(QUESTION, 5)
        hybrid = RAG(
            config.model_copy(update={"retrieval": RetrievalConfig(hybrid=True)}),
            encoder=encoder,
            store=rag.store,
        )
        hits = hybrid.search(QUESTION, 5)
    assert "INV-40417" not in dense[0].chunk.text
    assert "INV-40417 from Acme Corp" in hits[0].chunk.text
    assert len(hits) == 5


@pytest.mark.slow
@pytest.mark.integration
def test_cli_hybrid_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, invoices: Path, encoder: TransformerEncoder
) -> None:
    store = tmp_path / "store"
    config = RAGConfig(store=StoreConfig(path=store), chunking=ChunkingConfig(mode="late"))
    with RAG(config, encoder=encoder) as rag:
        rag.ingest([invoices])
    code = run(["search", QUESTION, "--hybrid", "-k", "2", "--store", str(store), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    hits = json.loads(out)["hits"]
    assert len(hits) == 2 and "INV-40417 from Acme Corp" in hits[0]["text"]
    code = run(["search", QUESTION, "--hybrid", "--fusion", "dbsf", "--sparse-weight", "3"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "dbsf fusion weighs dense and sparse equally" in err
