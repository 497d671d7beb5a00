"""Evaluation folders: FinanceBench (PDFs + questions with gold pages) and BEIR."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evaluation.metrics import DocQuery, PageQuery


@dataclass(frozen=True)
class EvalSet:
    """Documents to ingest and the queries to ask of them."""

    kind: str
    documents: tuple[Path, ...]
    page_queries: tuple[PageQuery, ...] = ()
    doc_queries: tuple[DocQuery, ...] = ()

    @property
    def size(self) -> int:
        """How many queries the set holds."""
        return len(self.page_queries) + len(self.doc_queries)


def load_eval_set(folder: Path, *, every: int = 1, work_dir: Path | None = None) -> EvalSet:
    """Read an evaluation folder; ``every`` keeps every N-th document (and its queries).

    FinanceBench layout: ``pdfs/`` and ``questions.jsonl``. BEIR layout: ``corpus.jsonl``,
    ``queries.jsonl`` and ``qrels/test.tsv``; its documents are written as text files into
    ``work_dir`` so they go through the normal ingestion.
    """
    if every < 1:
        raise ConfigError(f"every must be at least 1, got {every}")
    if (folder / "questions.jsonl").is_file() and (folder / "pdfs").is_dir():
        return _financebench(folder, every)
    if (folder / "corpus.jsonl").is_file() and (folder / "qrels" / "test.tsv").is_file():
        if work_dir is None:
            raise ConfigError("a BEIR folder needs a work_dir to write its documents into")
        return _beir(folder, every, work_dir)
    raise ConfigError(
        f"{folder}: not an evaluation folder (expected pdfs/ + questions.jsonl, "
        "or corpus.jsonl + queries.jsonl + qrels/test.tsv)"
    )


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise ConfigError(f"{path}:{number}: not a JSON line ({e})") from e
    return rows


def _financebench(folder: Path, every: int) -> EvalSet:
    pdfs = tuple(sorted((folder / "pdfs").glob("*.pdf"))[::every])
    names = {p.stem for p in pdfs}
    queries: list[PageQuery] = []
    for row in _jsonl(folder / "questions.jsonl"):
        doc = row["doc_name"]
        pages = frozenset(e["page"] for e in row.get("evidence", []) if e["doc_name"] == doc)
        if doc in names and pages:
            queries.append(PageQuery(str(row.get("id", len(queries))), row["question"], doc, pages))
    return EvalSet("financebench", pdfs, page_queries=tuple(queries))


def _safe_name(doc_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", doc_id)


def _beir(folder: Path, every: int, work_dir: Path) -> EvalSet:
    corpus = _jsonl(folder / "corpus.jsonl")[::every]
    work_dir.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    documents = []
    for row in corpus:
        name = _safe_name(str(row["_id"]))
        names[str(row["_id"])] = name
        path = work_dir / f"{name}.txt"
        title = row.get("title") or ""
        path.write_text(f"{title}\n\n{row['text']}" if title else row["text"], encoding="utf-8")
        documents.append(path)
    relevance: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            doc = names.get(str(row["corpus-id"]))
            if doc is not None:
                relevance.setdefault(str(row["query-id"]), {})[doc] = int(row["score"])
    queries = tuple(
        DocQuery(str(q["_id"]), q["text"], relevance[str(q["_id"])])
        for q in _jsonl(folder / "queries.jsonl")
        if any(g > 0 for g in relevance.get(str(q["_id"]), {}).values())
    )
    return EvalSet("beir", tuple(documents), doc_queries=queries)
