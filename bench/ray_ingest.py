"""Ingest speed on a local Ray cluster: 1 model actor against 2, and one process for reference.

Usage: python bench/ray_ingest.py [--pdfs N] [--actors 1,2] [--chunking mixed]

Ingests the N smallest FinanceBench filings (4 by default) with the bundled MiniLM, each run
into a fresh embedded store: in this process with torch on 1 and on all threads, then with
``[ingest] executor = "ray"`` on a local Ray cluster of as many CPUs as the machine has, with
each count of model actors (1 CPU and 1 torch thread each; PDFs parsed by Ray tasks). Every
run is warmed up on a small file first (model loaded, actors started), so the timed ingest
is loading, chunking, embedding and writing. Tokens/s counts MiniLM content tokens of the
stored chunks. Prints a Markdown table headed by the date, the machine and the load average
before and after (the machine may be shared: the load says how much).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from rag import ChunkingConfig, RAGConfig
from rag.config import EmbedderConfig, IngestConfig, StoreConfig
from rag.sdk import RAG

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench" / "pdfs"
WARMUP = Path(__file__).resolve().parents[1] / "examples" / "docs" / "handbook.md"


def run(config: RAGConfig, files: list[Path]) -> tuple[float, int]:
    """Seconds and tokens of one timed ingest after a warm-up."""
    with RAG(config) as rag:
        rag.ingest([WARMUP])
        started = time.perf_counter()
        report = rag.ingest(files)
        seconds = time.perf_counter() - started
    if report.failed:
        raise SystemExit(f"failed: {[f.error for f in report.failed]}")
    return seconds, sum(f.tokens for f in report.files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=4)
    parser.add_argument("--actors", default="1,2")
    parser.add_argument("--chunking", default="mixed")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    files = sorted(args.data.glob("*.pdf"), key=lambda p: p.stat().st_size)[: args.pdfs]
    if not files:
        raise SystemExit(f"no PDFs in {args.data}")
    chunking = ChunkingConfig(mode=args.chunking)
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()
    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def config(name: str, threads: int | None, ingest: IngestConfig) -> RAGConfig:
            return RAGConfig(
                store=StoreConfig(path=Path(tmp) / name),
                embedder=EmbedderConfig(threads=threads),
                chunking=chunking,
                ingest=ingest,
            )

        for threads in (1, cores):
            seconds, tokens = run(config(f"local{threads}", threads, IngestConfig()), files)
            rows.append((f"one process, torch on {threads} thread(s)", seconds, tokens))
        # a one-machine cluster: Ray then listens on the loopback interface only
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        try:
            for actors in (int(a) for a in args.actors.split(",")):
                ingest = IngestConfig(executor="ray", ray_actors=actors, ray_cpus=1)
                seconds, tokens = run(config(f"ray{actors}", 1, ingest), files)
                rows.append((f"Ray, {actors} model actor(s) of 1 CPU", seconds, tokens))
        finally:
            ray.shutdown()
    load_after = os.getloadavg()
    print(
        f"# {date.today()}, {platform.machine()}, {cores} cores, {len(files)} filings, "
        f"{args.chunking} chunking; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    base = next(s for name, s, _ in rows if name.startswith("Ray, 1 "))
    print("| run | seconds | tokens/s | vs Ray with 1 actor |")
    print("|---|---:|---:|---:|")
    for name, seconds, tokens in rows:
        print(f"| {name} | {seconds:.1f} | {tokens / seconds:,.0f} | {base / seconds:.2f}x |")


if __name__ == "__main__":
    main()
