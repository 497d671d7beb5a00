"""Ingest throughput of LateRAG (late and naive) against the standard LlamaIndex pipeline.

Usage: python bench/ingest_throughput.py [--pdfs N] [--settings late:64,naive:64]
           [--precision fp32|bf16] [--backend torch|onnx] [--no-llama-index]

Ingests the same FinanceBench filings (the N smallest by file size; 3 by default) with each
LateRAG setting and with LlamaIndex (SimpleDirectoryReader + SentenceSplitter +
HuggingFaceEmbedding of the same bundled MiniLM folder + QdrantVectorStore on a local
qdrant-client folder), each into a fresh store, model loaded and every pipeline warmed up on
a small file beforehand. Tokens/s counts the same tokens for every row: MiniLM tokens (no
special tokens) of the text LateRAG's PDF loader extracts. For LateRAG it also reports the
share of ingest wall time spent inside the model's forward pass (a timer around each batch).
Needs the ``bench`` extra. Prints a Markdown table headed by the date and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.chunk_builder import ChunkBuilder
from ingestion.loaders import load_document
from ingestion.prefetch import prefetch
from rag import ChunkingConfig, RAGConfig
from rag.config import EmbedderConfig, StoreConfig
from rag.encoders import TransformerEncoder, bundled_model_path
from rag.errors import LoaderError
from rag.sdk import RAG

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench" / "pdfs"
WARMUP = Path(__file__).resolve().parents[1] / "examples" / "docs" / "handbook.md"


class ForwardTimer:
    """Wraps an encoder's forward pass and adds up the seconds spent in it."""

    def __init__(self, encoder: TransformerEncoder) -> None:
        self.seconds = 0.0
        inner: Callable[[Any], Any] = encoder._forward

        def timed(inputs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(inputs)
            finally:
                self.seconds += time.perf_counter() - started

        encoder._forward = timed  # type: ignore[method-assign]


def laterag(
    encoder: TransformerEncoder, mode: str, size: int, files: list[Path], streamed: bool
) -> tuple[float, float]:
    """Seconds to ingest ``files`` and the seconds inside the forward pass."""
    chunking = ChunkingConfig(mode=mode, chunk_size=size)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        config = RAGConfig(store=StoreConfig(path=Path(folder)), chunking=chunking)
        with RAG(config, encoder=encoder) as rag:
            rag.ingest([WARMUP])
            timer = ForwardTimer(encoder)
            started = time.perf_counter()
            if streamed:  # what the pipeline does with build_many: batches across files
                builder = ChunkBuilder(encoder, chunking)
                docs = (d for _, d in prefetch(files, load_document, errors=(LoaderError,)))
                for _, chunks in builder.build_many(
                    d for d in docs if not isinstance(d, Exception)
                ):
                    if isinstance(chunks, list) and chunks:
                        rag.store.upsert(chunks)
            else:
                report = rag.ingest(files)
                if report.failed:
                    raise SystemExit(f"ingest failed: {report.failed}")
            seconds = time.perf_counter() - started
            del encoder._forward  # back to the method
    return seconds, timer.seconds


def llama_index(files: list[Path]) -> float:
    """Seconds for the standard LlamaIndex pipeline to ingest ``files``."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    embed = HuggingFaceEmbedding(model_name=str(bundled_model_path()), device="cpu")

    def run(paths: list[Path], folder: str) -> None:
        client = QdrantClient(path=folder)
        store = QdrantVectorStore(client=client, collection_name="bench")
        docs = SimpleDirectoryReader(input_files=[str(p) for p in paths]).load_data()
        VectorStoreIndex.from_documents(
            docs,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed,
            transformations=[SentenceSplitter()],
        )
        client.close()

    with tempfile.TemporaryDirectory() as warm:
        run([WARMUP], warm)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run(files, folder)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pdfs", type=int, default=3, help="The N smallest filings.")
    parser.add_argument("--settings", default="late:64,naive:64")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    parser.add_argument("--no-llama-index", action="store_true")
    args = parser.parse_args()

    files = sorted(args.data.glob("*.pdf"), key=lambda p: p.stat().st_size)[: args.pdfs]
    embedder = EmbedderConfig(precision=args.precision, backend=args.backend)
    encoder = TransformerEncoder(embedder).load()
    tokens = sum(len(encoder.tokenize(load_document(p).text)) for p in files)
    print(f"{len(files)} filings, {tokens} MiniLM tokens", file=sys.stderr)

    rows: list[tuple[str, float, str]] = []
    for setting in args.settings.split(","):
        mode, size = setting.split(":")
        for streamed in (False, True) if mode == "late" else (False,):
            name = f"LateRAG {mode}/{size}" + (" (build_many + prefetch)" if streamed else "")
            seconds, forward = laterag(encoder, mode, int(size), files, streamed)
            rows.append((name, seconds, f"{forward / seconds:.0%}"))
            print(f"{name}: {seconds:.1f} s", file=sys.stderr)
    if not args.no_llama_index:
        seconds = llama_index(files)
        rows.append(("LlamaIndex (SentenceSplitter 1024 + HuggingFaceEmbedding)", seconds, "-"))
        print(f"LlamaIndex: {seconds:.1f} s", file=sys.stderr)
    base = rows[-1][1] if not args.no_llama_index else rows[0][1]
    load = os.getloadavg()[0]
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}")
    print(
        f"\n{len(files)} FinanceBench filings, {tokens} MiniLM tokens of extracted text; "
        f"precision {args.precision}, backend {args.backend}. LlamaIndex's "
        "HuggingFaceEmbedding silently truncates each 1024-token chunk to MiniLM's 256.\n"
    )
    print("| pipeline | seconds | tokens/s | speed vs last row | forward share |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, share in rows:
        print(
            f"| {name} | {seconds:.1f} | {tokens / seconds:.0f} | {base / seconds:.2f}x | {share} |"
        )


if __name__ == "__main__":
    main()
