"""Late, naive and mixed chunk vectors on FinanceBench, searched exactly, from one pass per filing.

Usage: python bench/chunk_vectors.py [--every N] [--chunk-size 64] [--mix 0.3,0.5]
           [--center 0.3] [--fuse 0.8] [--windows 256,256:128] [--retrieval dense,title@3+page]
           [--context] [--precision auto|fp32|bf16] [--keep DIR]

Each filing is chunked once (the library's structure chunker) and its chunks get a naive
vector (each chunk embedded alone) and a late vector per macro window setting ``W:O`` (W
positions a window, O tokens of overlap, by default a quarter of the window's content tokens
as in the library; ``256`` is the library's default for MiniLM). The vectors are kept in
``--keep`` so later runs only search. Every question is then asked of all filings' chunks at
once, searched exactly (no HNSW), ranking chunks by:

- late (each window setting), naive;
- mix@A: ``normalise(A * late + (1 - A) * naive)``, the chunk's late vector (first window
  setting) blended with its own, for each A of ``--mix``;
- with ``--context``, also "late ... ctx" and "naive ctx": the same with the filing's title
  (``rag.titles.document_title``) before every window and every chunk embedded alone, as
  ``--context title`` ingests, and their mix;
- fuse@C of late, naive and every mix: ``normalise(C * chunk + (1 - C) * title)``, the
  filing's title (its file name, as the title boost reads it) fused into every chunk vector
  (RAGMATE-10K, arXiv 2601.11863), for each C of ``--fuse``;
- centre@B: ``normalise(late - B * mean late vector of the filing)``, late vectors with part
  of what all chunks of their filing share taken out (no second pass), for each B of
  ``--center``.

Each ranking goes through the library's title boost and one-hit-a-page steps as named in
``--retrieval`` (parts joined by "+": title@W, page@N; dense alone is neither). Prints page
recall@1/5/10, hit@5/10 and MRR@10 (definitions in the data folder's README) as a Markdown
table headed by the date and the machine. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
from financebench_retrieval import COLUMNS, DATA, retrieval_config

from ingestion.chunk_builder import ChunkBuilder
from ingestion.embedding import LateVectorizer, NaiveVectorizer
from ingestion.embedding.mixed import blend
from ingestion.loaders import load_document
from rag import ChunkingConfig
from rag.config import EmbedderConfig, RetrievalConfig
from rag.encoders import TransformerEncoder
from rag.evaluation.datasets import load_eval_set
from rag.evaluation.metrics import mean, page_scores
from rag.protocols import Retriever
from rag.titles import document_title
from rag.types import Chunk, Hit, SearchFilter
from rag.vectors import normalise_rows
from retrievers import PerPageRetriever, TitleBoostedRetriever
from retrievers.title_boost import TitleVectors, title_of


class MatrixRetriever:
    """Exact search over one matrix of chunk vectors (one row per chunk)."""

    def __init__(self, encoder: TransformerEncoder, chunks: list[Chunk], matrix: np.ndarray):
        self.encoder = encoder
        self.chunks = chunks
        self.matrix = matrix

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        """The k chunks of highest cosine to the query, best first."""
        scores = self.matrix @ self.encoder.embed([query], "query")[0]
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        return [Hit(self.chunks[i], float(scores[i])) for i in top]


def filing_vectors(
    encoder: TransformerEncoder,
    encoders: dict[int, TransformerEncoder],
    pdf: Path,
    chunk_size: int,
    windows: list[tuple[int, int | None]],
    keep: Path,
    context: bool,
) -> tuple[list[Chunk], dict[str, np.ndarray]]:
    """The filing's chunks and its vectors by name ("naive", "late W[:O]"), cached in ``keep``.

    ``encoder`` chunks the filing and makes the naive vectors, ``encoders[W]`` the late ones.
    """
    doc = load_document(pdf)
    builder = ChunkBuilder(encoder, ChunkingConfig(mode="late", chunk_size=chunk_size))
    chunks = builder.build(doc, vectors=False)
    char_spans = [c.char_span for c in chunks]
    tokens = encoder.tokenize(doc.text)
    vectorizers: dict[str, LateVectorizer | NaiveVectorizer] = {"naive": NaiveVectorizer(encoder)}
    for size, overlap in windows:
        vectorizers[late_name(size, overlap)] = LateVectorizer(encoders[size], overlap=overlap)
    titles = dict.fromkeys(vectorizers, "")
    if context:
        title = document_title(doc.source, doc.metadata)
        for name in list(vectorizers):
            vectorizers[f"{name} ctx"] = vectorizers[name]
            titles[f"{name} ctx"] = title
    vectors: dict[str, np.ndarray] = {}
    for name, vectorizer in vectorizers.items():
        label = name.replace(" ", "-").replace(":", "o")
        path = keep / f"{pdf.stem}-{chunk_size}-{label}.npy"
        if not path.exists():
            plan = vectorizer.plan(doc.text, tokens, char_spans, titles[name])
            vectorizer.run([(plan, i) for i in range(len(plan.sizes))])
            matrix = plan.vectors()
            np.save(path, matrix)
        vectors[name] = np.load(path)
    return chunks, vectors


def searcher(base: Retriever, variant: str, titles: TitleVectors) -> Retriever:
    """``base`` wrapped in the title boost and one hit a page as ``variant`` names them."""
    settings = cast(RetrievalConfig, retrieval_config(variant, None)["retrieval"])
    retriever = base
    if settings.title_weight > 0:
        retriever = TitleBoostedRetriever(retriever, titles, settings.title_weight)
    if settings.per_page:
        retriever = PerPageRetriever(retriever, settings.per_page)
    return retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--every", type=int, default=1, help="Use every N-th filing by name.")
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--mix", default="0.3,0.5", help="Weights A of the late vector in mix@A.")
    parser.add_argument(
        "--center", default="", help="Weights B of the filing's mean late vector in centre@B."
    )
    parser.add_argument("--fuse", default="", help="Weights C of the chunk vector in fuse@C.")
    parser.add_argument(
        "--windows", default="256", help="Late macro windows W or W:O (O: a quarter); first mixed."
    )
    parser.add_argument("--retrieval", default="dense,title@3+page")
    parser.add_argument("--context", action="store_true", help="Also the title in windows.")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--keep", type=Path, default=Path("/tmp/laterag-chunk-vectors"))
    args = parser.parse_args()
    windows = [_window(spec) for spec in args.windows.split(",")]
    mixes = [float(a) for a in args.mix.split(",") if a]
    encoders = {
        size: TransformerEncoder(EmbedderConfig(max_tokens=size, precision=args.precision)).load()
        for size, _ in windows
    }
    encoder = encoders[max(encoders)]  # queries and titles: the widest window fits them all
    precision = encoder.runtime["precision"]
    keep = args.keep / precision
    keep.mkdir(parents=True, exist_ok=True)
    evalset = load_eval_set(args.data, every=args.every)
    chunks: list[Chunk] = []
    parts: dict[str, list[np.ndarray]] = {}
    started = time.perf_counter()
    for number, pdf in enumerate(evalset.documents, start=1):
        print(f"[{number}/{len(evalset.documents)}] {pdf.name}", file=sys.stderr, flush=True)
        doc_chunks, vectors = filing_vectors(
            encoder, encoders, pdf, args.chunk_size, windows, keep, args.context
        )
        chunks.extend(doc_chunks)
        for name, matrix in vectors.items():
            parts.setdefault(name, []).append(matrix)
    print(f"vectors ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    matrices = {name: np.vstack(rows) for name, rows in parts.items()}
    late = matrices[late_name(*windows[0])]
    for a in mixes:
        matrices[f"mix@{a:g}"] = blend(late, matrices["naive"], a)
        if args.context:
            late_ctx = matrices[f"{late_name(*windows[0])} ctx"]
            matrices[f"mix@{a:g} ctx"] = blend(late_ctx, matrices["naive ctx"], a)
    bounds = np.cumsum([0] + [len(rows) for rows in parts["naive"]])
    for b in [float(b) for b in args.center.split(",") if b]:
        centred = late.copy()
        for first, last in zip(bounds[:-1], bounds[1:], strict=True):
            centred[first:last] -= b * late[first:last].mean(axis=0)
        matrices[f"centre@{b:g}"] = normalise_rows(centred)

    titles = TitleVectors(encoder)
    fused = titles.get([title_of(c) for c in chunks])
    for c in [float(c) for c in args.fuse.split(",") if c]:
        for name in list(matrices):
            if not name.startswith("centre") and "fuse@" not in name:
                matrices[f"{name} fuse@{c:g}"] = blend(matrices[name], fused, c)
    print(f"# FinanceBench page recall, exact search, bundled {encoder.name}, {precision}")
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores")
    print(
        f"# {len(evalset.documents)} filings in one collection, {evalset.size} questions, "
        f"{len(chunks)} chunks of up to {args.chunk_size} tokens (structure chunker)"
    )
    print("| vectors | retrieval | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for name, matrix in matrices.items():
        base = MatrixRetriever(encoder, chunks, matrix)
        for variant in args.retrieval.split(","):
            retriever = searcher(base, variant, titles)
            scored = [page_scores(retriever.retrieve(q.text, 10), q) for q in evalset.page_queries]
            metrics = mean(scored)
            cells = " | ".join(f"{metrics[c]:.3f}" for c in COLUMNS)
            print(f"| {name} | {variant} | {cells} |", flush=True)


def late_name(size: int, overlap: int | None) -> str:
    """The row name of late vectors from windows of ``size`` positions."""
    return f"late {size}" if overlap is None else f"late {size}:{overlap}"


def _window(spec: str) -> tuple[int, int | None]:
    size, _, overlap = spec.partition(":")
    return int(size), int(overlap) if overlap else None


if __name__ == "__main__":
    main()
