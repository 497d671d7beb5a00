"""Reranking wired through the SDK and the CLI: fetch candidates, rerank down to k."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_reranker

from rag import RAG, RAGConfig, RerankConfig, StoreConfig
from rag.cli import run
from rag.encoders import TransformerEncoder
from retrievers.rerankers import CrossEncoderReranker

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUESTION = "How many vacation days do new employees get?"


def test_sdk_search_reranks_candidates_down_to_k(
    tmp_path: Path, docs: Path, encoder: TransformerEncoder
) -> None:
    config = RAGConfig(
        store=StoreConfig(path=tmp_path), rerank=RerankConfig(kind="embedding", candidates=8)
    )
    with RAG(config, encoder=encoder) as rag:
        rag.ingest([docs])
        hits = rag.search(QUESTION, k=2)
        assert len(hits) == 2
        assert "18 days of paid vacation" in hits[0].chunk.text
        assert hits[0].score >= hits[1].score
        assert rag.reranker is not None and rag.reranker.name.startswith("embedding")


def test_cli_search_with_a_cross_encoder(
    tmp_path: Path, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_reranker(tmp_path / "reranker")
    store = ["--store", str(tmp_path / "store")]
    assert run(["ingest", str(docs), *store]) == 0
    capsys.readouterr()
    args = ["search", QUESTION, "-k", "3", "--rerank", "cross-encoder", "--candidates", "6"]
    assert run([*args, "--rerank-model", str(model), *store, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == 3
    expected = CrossEncoderReranker(str(model)).score(QUESTION, [h["text"] for h in hits])
    np.testing.assert_allclose([h["score"] for h in hits], expected, rtol=1e-4)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    assert run(["search", QUESTION, "--rerank", "cross-encoder", *store]) == 1
    assert "model" in capsys.readouterr().err
