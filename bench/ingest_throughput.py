"""Ingest wall time of LateRAG (defaults, late, naive) against the standard LlamaIndex pipeline.

Usage: python bench/ingest_throughput.py [--data DIR] [--rounds 2] [--no-llama-index]
           [--filings AMAZON_2017_10K,MICROSOFT_2016_10K,KRAFTHEINZ_2019_10K]

Each pipeline ingests the same FinanceBench filings into a fresh store as its own process
(`rag ingest`, `bench/llama_index_ingest.py`), so a row's wall time is what a user waits for,
imports and model loading included. The pipelines alternate, round after round; a row keeps
its best round. Tokens are MiniLM tokens of the text LateRAG's PDF loader extracts (what
`rag ingest --json` reports); LlamaIndex embeds only the first 256 of each 1024-token chunk.

Then the forward share: LateRAG's ingest tokens per second (the in-process time that
`rag ingest --json` reports) over the model's raw forward throughput on full windows, same
backend and precision. Needs the ``bench`` extra. Prints Markdown on stdout, progress on
stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from rag.config import EmbedderConfig
from rag.encoders import TransformerEncoder

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared" / "data" / "financebench" / "pdfs"
FILINGS = "AMAZON_2017_10K,MICROSOFT_2016_10K,KRAFTHEINZ_2019_10K"
LATERAG_ROWS = {
    "LateRAG defaults": [],
    "LateRAG --chunking late": ["--chunking", "late"],
    "LateRAG --chunking naive": ["--chunking", "naive"],
}
LLAMA_INDEX = "LlamaIndex defaults (SentenceSplitter + HuggingFaceEmbedding + Qdrant)"


def run_laterag(flags: list[str], files: list[Path]) -> tuple[float, dict[str, float]]:
    """Wall seconds of one ``rag ingest`` process, and its JSON report."""
    with tempfile.TemporaryDirectory() as store:
        command = ["rag", "ingest", *map(str, files), "--store", store, "--json", *flags]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def run_llama_index(files: list[Path]) -> float:
    """Wall seconds of one LlamaIndex ingest process."""
    with tempfile.TemporaryDirectory() as store:
        command = [sys.executable, str(BENCH / "llama_index_ingest.py"), store, *map(str, files)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"LlamaIndex failed:\n{done.stderr[-2000:]}")
    return seconds


def forward_throughput(encoder: TransformerEncoder, seconds: float = 20.0) -> float:
    """Content tokens per second through the model on full windows, batched as ingest does."""
    window = encoder.content_window
    per_batch = max(1, encoder.config.batch_tokens // encoder.max_tokens)
    ids = np.random.default_rng(0).integers(1000, 20000, size=(per_batch, window)).tolist()
    encoder.token_states(ids)  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        encoder.token_states(ids)
        done += per_batch * window
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--filings", default=FILINGS)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-llama-index", action="store_true")
    args = parser.parse_args()

    files = [args.data / f"{name}.pdf" for name in args.filings.split(",")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"no such filings: {', '.join(missing)}")
    best: dict[str, float] = {}
    reports: dict[str, dict[str, float]] = {}
    loads = []
    for round_ in range(1, args.rounds + 1):
        for name, flags in LATERAG_ROWS.items():
            seconds, report = run_laterag(flags, files)
            if seconds < best.get(name, float("inf")):
                best[name], reports[name] = seconds, report
            print(f"round {round_}: {name}: {seconds:.1f} s", file=sys.stderr)
            loads.append(os.getloadavg()[0])
        if not args.no_llama_index:
            seconds = run_llama_index(files)
            best[LLAMA_INDEX] = min(seconds, best.get(LLAMA_INDEX, float("inf")))
            print(f"round {round_}: LlamaIndex: {seconds:.1f} s", file=sys.stderr)
            loads.append(os.getloadavg()[0])

    encoder = TransformerEncoder(EmbedderConfig()).load()
    runtime = encoder.runtime
    raw = forward_throughput(encoder)
    tokens = reports["LateRAG defaults"]["tokens"]
    base = best.get(LLAMA_INDEX)
    print(
        f"# {date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {min(loads):.1f}-{max(loads):.1f} during the runs"
    )
    print(
        f"\n{', '.join(f.stem for f in files)}: {tokens:.0f} MiniLM tokens of text; "
        f"best of {args.rounds} alternating rounds, each a fresh process and store; "
        f"runtime {runtime['device']}/{runtime['precision']}/{runtime['backend']}.\n"
    )
    print("| pipeline | wall s | tokens/s | vs LlamaIndex | forward share |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in best.items():
        report = reports.get(name)
        share = f"{report['tokens'] / report['seconds'] / raw:.0%}" if report else "-"
        speed = f"{base / seconds:.2f}x" if base else "-"
        print(f"| {name} | {seconds:.1f} | {tokens / seconds:.0f} | {speed} | {share} |")
    print(
        f"\nRaw forward throughput on full {encoder.content_window}-token windows: "
        f"{raw:.0f} tokens/s. Forward share: a row's tokens per second of `rag ingest`'s own "
        "time (no start-up) over that."
    )


if __name__ == "__main__":
    main()
