"""Page recall of LateRAG retrieval on FinanceBench filings, one shared collection per setting.

Usage: python bench/financebench_retrieval.py [--every N] [--settings late:128,naive:128 ...]

Ingests the filings (every N-th one by name, all by default) into a fresh embedded collection for
each setting, asks every question of those filings against the whole collection, and prints
page recall@1/5/10, hit@5/10 and MRR@10 (definitions in the data folder's README) with ingest
throughput. A chunk covers a gold page when it comes from the same filing and its page range
holds that page. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rag import RAG, ChunkingConfig, RAGConfig, StoreConfig
from rag.types import Hit

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench"


@dataclass(frozen=True)
class Question:
    doc: str
    text: str
    pages: frozenset[int]  # 0-based page indexes, as in questions.jsonl


def load_questions(data: Path, docs: set[str]) -> list[Question]:
    questions = []
    for line in (data / "questions.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["doc_name"] in docs:
            doc = row["doc_name"]
            pages = frozenset(e["page"] for e in row["evidence"] if e["doc_name"] == doc)
            if pages:
                questions.append(Question(row["doc_name"], row["question"], pages))
    return questions


def covered(hit: Hit, question: Question) -> set[int]:
    """Gold pages (0-based) of ``question`` inside the hit's page range."""
    chunk = hit.chunk
    if Path(chunk.source).stem != question.doc or chunk.page_span is None:
        return set()
    first, last = chunk.page_span  # 1-based, inclusive
    return {p for p in question.pages if first - 1 <= p <= last - 1}


def score(hits: list[Hit], question: Question) -> dict[str, float]:
    found: list[set[int]] = [covered(h, question) for h in hits]
    out: dict[str, float] = {}
    for k in (1, 5, 10):
        pages = set().union(*found[:k]) if found[:k] else set()
        out[f"recall@{k}"] = len(pages) / len(question.pages)
    for k in (5, 10):
        out[f"hit@{k}"] = float(any(found[:k]))
    first = next((i for i, f in enumerate(found[:10]) if f), None)
    out["mrr@10"] = 0.0 if first is None else 1.0 / (first + 1)
    return out


def run_setting(
    mode: str, size: int, chunker: str, pdfs: list[Path], questions: list[Question]
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        config = RAGConfig(
            store=StoreConfig(path=Path(folder)),
            chunking=ChunkingConfig(mode=mode, chunk_size=size, chunker=chunker),  # type: ignore[arg-type]
        )
        with RAG(config) as rag:
            started = time.perf_counter()
            report = rag.ingest(
                pdfs, on_result=lambda r: print(f"  {r.status} {r.path}", file=sys.stderr)
            )
            ingest_seconds = time.perf_counter() - started
            tokens = sum(f.tokens for f in report.files)
            totals: dict[str, float] = {}
            latencies = []
            for question in questions:
                started = time.perf_counter()
                hits = rag.search(question.text, k=10)
                latencies.append(time.perf_counter() - started)
                for key, value in score(hits, question).items():
                    totals[key] = totals.get(key, 0.0) + value
    result = {key: value / len(questions) for key, value in totals.items()}
    latencies.sort()
    result.update(
        ingest_s=ingest_seconds,
        tokens_per_s=tokens / ingest_seconds,
        query_p50_ms=1000 * latencies[len(latencies) // 2],
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--every", type=int, default=1, help="Use every N-th filing by name.")
    parser.add_argument(
        "--settings",
        default="late:128,naive:128",
        help="Comma-separated mode:chunk_size pairs, e.g. late:64,naive:64.",
    )
    parser.add_argument("--chunker", default="structure")
    args = parser.parse_args()

    pdfs = sorted((args.data / "pdfs").glob("*.pdf"))[:: args.every]
    questions = load_questions(args.data, {p.stem for p in pdfs})
    print(
        f"# FinanceBench page recall: {len(pdfs)} filings in one collection, "
        f"{len(questions)} questions, chunker {args.chunker}, bundled all-MiniLM-L6-v2",
    )
    print(f"# {date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    columns = ["recall@1", "recall@5", "recall@10", "hit@5", "hit@10", "mrr@10"]
    print("| chunking | size | " + " | ".join(columns) + " | ingest s | tokens/s | query p50 ms |")
    print("|---|---|" + "---|" * (len(columns) + 3))
    for setting in args.settings.split(","):
        mode, size = setting.split(":")
        print(f"setting {setting}", file=sys.stderr)
        r = run_setting(mode, int(size), args.chunker, pdfs, questions)
        cells = " | ".join(f"{r[c]:.3f}" for c in columns)
        print(
            f"| {mode} | {size} | {cells} | {r['ingest_s']:.0f} | {r['tokens_per_s']:.0f} "
            f"| {r['query_p50_ms']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
