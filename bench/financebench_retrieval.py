"""Page recall of LateRAG retrieval on FinanceBench filings, one shared collection per setting.

Usage: python bench/financebench_retrieval.py [--every N] [--settings late:64,naive:64 ...]

For each mode:chunk_size setting, ingests the filings (every N-th one by name; all by default)
into a fresh embedded collection, asks every question of those filings against the whole
collection, and prints page recall@1/5/10, hit@5/10 and MRR@10 (definitions in the data
folder's README) with ingest throughput and query latency, as a Markdown table headed by the
date and the machine. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date
from pathlib import Path

from rag import ChunkingConfig, RAGConfig
from rag.encoders import TransformerEncoder
from rag.evaluation import evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench"
COLUMNS = ["recall@1", "recall@5", "recall@10", "hit@5", "hit@10", "mrr@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--every", type=int, default=1, help="Use every N-th filing by name.")
    parser.add_argument(
        "--settings",
        default="late:64,naive:64",
        help="Comma-separated mode:chunk_size pairs, e.g. late:64,naive:64,late:128.",
    )
    parser.add_argument("--chunker", default="structure")
    args = parser.parse_args()

    encoder = TransformerEncoder().load()
    print(f"# FinanceBench page recall, bundled {encoder.name}, chunker {args.chunker}")
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores")
    print("| chunking | size | " + " | ".join(COLUMNS) + " | ingest s | tokens/s | query p50 ms |")
    print("|---|---|" + "---|" * (len(COLUMNS) + 3))
    for setting in args.settings.split(","):
        mode, size = setting.split(":")
        print(f"setting {setting}", file=sys.stderr)
        chunking = ChunkingConfig(mode=mode, chunk_size=int(size), chunker=args.chunker)  # type: ignore[arg-type]
        report = evaluate(
            RAGConfig(chunking=chunking),
            args.data,
            every=args.every,
            encoder=encoder,
            on_result=lambda r: print(f"  {r.status} {r.path}", file=sys.stderr),
        )
        cells = " | ".join(f"{report.metrics[c]:.3f}" for c in COLUMNS)
        print(
            f"| {mode} | {size} | {cells} | {report.ingest_seconds:.0f} "
            f"| {report.tokens_per_second:.0f} | {report.query_p50_ms:.1f} |",
            flush=True,
        )
    print(f"# {report.documents} filings in one collection, {report.queries} questions")


if __name__ == "__main__":
    main()
