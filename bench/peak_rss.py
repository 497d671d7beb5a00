"""Peak resident memory of ingesting one long generated document, in a fresh process.

Usage: python bench/peak_rss.py [--tokens 1000000] [--chunking late|naive] [--backend torch|onnx]

Writes a text file of about ``--tokens`` MiniLM tokens (numbered paragraphs of varied
financial prose), ingests it with ``rag ingest`` settings into a temporary store in a child
process, and prints that process's peak RSS (ru_maxrss) and wall time as a Markdown table
headed by the date and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

SENTENCES = [
    "Net sales for the quarter were {n} million dollars, up {p} percent from the prior year.",
    "Operating margin in segment {n} improved by {p} basis points on lower freight costs.",
    "The company repurchased {n} thousand shares and paid dividends of {p} cents per share.",
    "Inventory at the end of period {n} stood at {p} days of supply across all regions.",
    "Risk factor {n}: changes in interest rates may affect our {p} billion credit facility.",
]

CHILD = """
import resource, sys, time
from pathlib import Path
from rag.config import ChunkingConfig, EmbedderConfig, RAGConfig, StoreConfig
from rag.sdk import RAG
path, store, mode, backend = sys.argv[1:5]
config = RAGConfig(
    store=StoreConfig(path=Path(store)),
    chunking=ChunkingConfig(mode=mode, chunker="sentences"),
    embedder=EmbedderConfig(backend=backend),
)
with RAG(config) as rag:
    rag.encoder
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = rag.ingest([path])
    seconds = time.perf_counter() - started
assert not report.failed, report.failed
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(report.files[0].tokens, seconds, base, peak)
"""


def write_document(path: Path, tokens: int) -> None:
    """Write about ``tokens`` MiniLM tokens of numbered paragraphs (about 0.85 words a token)."""
    words = 0
    n = 0
    with path.open("w", encoding="utf-8") as f:
        while words < tokens * 0.85:
            paragraph = " ".join(
                s.format(n=n + i, p=(n * 7 + i) % 97) for i, s in enumerate(SENTENCES)
            )
            f.write(f"Section {n}. {paragraph}\n\n")
            words += len(paragraph.split()) + 2
            n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--chunking", default="late", choices=["late", "naive"])
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        doc = Path(folder) / "long.txt"
        write_document(doc, args.tokens)
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(doc), folder + "/store", args.chunking, args.backend],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    tokens, seconds, base, peak = out.stdout.split()
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print("\n| document | chunking | ingest s | tokens/s | RSS after model load | peak RSS |")
    print("|---|---|---:|---:|---:|---:|")
    print(
        f"| {int(tokens):,} tokens | {args.chunking} | {float(seconds):.0f} | "
        f"{int(tokens) / float(seconds):.0f} | {int(base) / 1024:.0f} MB | "
        f"{max(int(peak), child) / 1024:.0f} MB |"
    )
    print(f"\n(child process wall time with imports and model load: {wall:.0f} s)")


if __name__ == "__main__":
    main()
