"""The eval harness: exact metrics on synthetic rankings, and real runs on tiny slices."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rag.cli import run
from rag.config import ChunkingConfig, RAGConfig, RetrievalConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.evaluation import DocQuery, PageQuery, doc_scores, evaluate, ndcg, page_scores
from rag.types import Chunk, Hit

SMALL_FILINGS = (
    "AMCOR_2022_8K_dated-2022-07-01",
    "AMCOR_2023Q4_EARNINGS",
    "PEPSICO_2023_8K_dated-2023-05-05",
)


def hit(source: str, pages: tuple[int, int] | None = None, score: float = 1.0) -> Hit:
    chunk = Chunk(
        doc_id=source,
        source=f"/data/{source}",
        content_hash="h",
        index=0,
        text="t",
        char_span=(0, 1),
        page_span=pages,
    )
    return Hit(chunk, score)


def test_page_scores_follow_the_financebench_definitions() -> None:
    query = PageQuery("q", "?", "3M_2018_10K", frozenset({59, 60}))
    hits = [
        hit("OTHER_10K.pdf", (60, 61)),  # right pages, wrong filing
        hit("3M_2018_10K.pdf", (1, 2)),
        hit("3M_2018_10K.pdf", (60, 60)),  # 1-based page 60 is gold page 59
        hit("3M_2018_10K.pdf", (61, 62)),  # gold page 60
    ]
    scores = page_scores(hits, query)
    assert scores["recall@1"] == 0.0
    assert scores["recall@5"] == scores["recall@10"] == 1.0
    assert scores["hit@5"] == 1.0
    assert scores["mrr@10"] == pytest.approx(1 / 3)


def test_ndcg_scores_documents_by_their_best_chunk() -> None:
    relevance = {"a": 2, "b": 1}
    assert ndcg(["a", "b", "c"], relevance, 10) == pytest.approx(1.0)
    ideal = 2 + 1 / math.log2(3)
    assert ndcg(["c", "a"], relevance, 10) == pytest.approx((2 / math.log2(3)) / ideal)
    hits = [hit("b.txt"), hit("b.txt"), hit("a.txt")]  # b's second chunk must not push a down
    scores = doc_scores(hits, DocQuery("q", "?", relevance), k=10)
    assert scores["ndcg@10"] == pytest.approx(ndcg(["b", "a"], relevance, 10))
    assert scores["recall@10"] == 1.0


@pytest.mark.slow
def test_beir_folder_scores_ndcg(tmp_path: Path, encoder: TransformerEncoder) -> None:
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    corpus = {
        "d1": "The cat sat on the warm mat all afternoon.",
        "d2": "Quarterly revenue grew by twelve percent on strong cloud sales.",
        "d3": "The recipe needs flour, eggs, butter and a pinch of salt.",
        "d4": "Mount Everest is the highest mountain above sea level.",
    }
    queries = {"q1": "Where did the cat sit?", "q2": "How much did revenue grow?"}
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": "", "text": t}) for i, t in corpus.items())
    )
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "text": t}) for i, t in queries.items())
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    report = evaluate(RAGConfig(), folder, k=10, encoder=encoder)
    assert (report.kind, report.documents, report.queries) == ("beir", 4, 2)
    assert report.metrics["ndcg@10"] == pytest.approx(1.0)
    assert report.settings["chunking"] == ChunkingConfig().mode
    assert report.settings["retrieval"] == RetrievalConfig().model_dump(mode="json")
    assert report.settings["rerank"]["kind"] == "none"
    assert report.settings["hnsw_ef"] == StoreConfig().hnsw_ef


@pytest.mark.slow
@pytest.mark.integration
def test_rag_eval_compares_late_and_naive_on_a_financebench_slice(
    tmp_path: Path, financebench_pdfs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "slice"
    (folder / "pdfs").mkdir(parents=True)
    for name in SMALL_FILINGS:
        (folder / "pdfs" / f"{name}.pdf").symlink_to(financebench_pdfs / f"{name}.pdf")
    rows = (financebench_pdfs.parent / "questions.jsonl").read_text().splitlines()
    kept = [r for r in rows if json.loads(r)["doc_name"] in SMALL_FILINGS]
    (folder / "questions.jsonl").write_text("\n".join(kept))

    assert run(["eval", str(folder), "--compare", "late,naive", "--hnsw-ef", "0", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["settings"]["chunking"] for r in reports] == ["late", "naive"]
    assert [r["settings"]["hnsw_ef"] for r in reports] == [0, 0]  # the flag reached the eval
    for report in reports:
        assert (report["documents"], report["queries"]) == (3, len(kept))
        assert set(report["metrics"]) == {
            "recall@1",
            "recall@5",
            "recall@10",
            "hit@5",
            "hit@10",
            "mrr@10",
        }
        assert all(0.0 <= v <= 1.0 for v in report["metrics"].values())
        assert report["tokens"] > 0 and not report["failed"]
    assert run(["eval", str(folder), "--every", "3"]) == 0
    table = capsys.readouterr().out
    assert "financebench: 1 documents" in table and f"| {ChunkingConfig().mode} |" in table
