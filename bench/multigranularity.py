"""Does multi-granularity late chunking help? Sentence, chunk and section vectors on FinanceBench.

Usage: python bench/multigranularity.py [--every N] [--chunk-size 64] [--section-chunks 4]

Each filing goes once through the model in overlapping macro windows (long late chunking, as
at ingest) and its token states are mean-pooled three ways: the sentences inside each chunk,
the chunks themselves, and sections of ``--section-chunks`` consecutive chunks. Special tokens
are pooled into no level. Every question is then scored against all filings' chunks in memory,
ranking chunks by:

- chunk: the chunk's own vector (what LateRAG stores today);
- sentence: the best of its sentences' vectors (retrieve fine, return the enclosing chunk);
- chunk+sentence, chunk+section, all three: the mean of those scores.

Prints page recall@1/5/10, hit@5/10 and MRR@10 per ranking as a Markdown table headed by the
date and the machine. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from ingestion.chunk_builder import ChunkBuilder
from ingestion.chunkers.sentences import sentence_spans
from ingestion.embedding import LateVectorizer, token_spans
from ingestion.embedding.pooling import pool_spans
from ingestion.embedding.spans import macro_windows
from ingestion.loaders import load_document
from rag import ChunkingConfig
from rag.encoders import TransformerEncoder
from rag.errors import EmbeddingError
from rag.evaluation.datasets import load_eval_set
from rag.evaluation.metrics import mean, page_scores
from rag.types import Chunk, Hit, Span

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench"
COLUMNS = ["recall@1", "recall@5", "recall@10", "hit@5", "hit@10", "mrr@10"]
RANKINGS = {
    "chunk": ("chunk",),
    "sentence": ("sentence",),
    "chunk+sentence": ("chunk", "sentence"),
    "chunk+section": ("chunk", "section"),
    "all three": ("chunk", "sentence", "section"),
}

WINDOWS_PER_CALL = 32
"""Macro windows given to the encoder at once."""


def levels(
    text: str, chunks: list[Chunk], offsets: tuple[Span, ...], section_chunks: int
) -> tuple[list[Span], list[int], list[Span], list[int]]:
    """Sentence spans with their chunk, and section spans with each chunk's section."""
    sentences: list[Span] = []
    owner: list[int] = []
    for index, chunk in enumerate(chunks):
        for piece in sentence_spans(text, chunk.char_span) or [chunk.char_span]:
            try:
                token_spans(offsets, [piece])
            except EmbeddingError:
                continue  # a piece the tokenizer drops whole, such as a lone symbol
            sentences.append(piece)
            owner.append(index)
    sections = [
        (chunks[i].char_span[0], chunks[min(i + section_chunks, len(chunks)) - 1].char_span[1])
        for i in range(0, len(chunks), section_chunks)
    ]
    section_of = [i // section_chunks for i in range(len(chunks))]
    return sentences, owner, sections, section_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--every", type=int, default=6, help="Use every N-th filing by name.")
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--section-chunks", type=int, default=4)
    args = parser.parse_args()

    encoder = TransformerEncoder().load()
    builder = ChunkBuilder(encoder, ChunkingConfig(mode="late", chunk_size=args.chunk_size))
    late = LateVectorizer(encoder)
    evalset = load_eval_set(args.data, every=args.every)
    chunks: list[Chunk] = []
    scores_of: dict[str, list[np.ndarray]] = {"chunk": [], "sentence": [], "section": []}
    sentence_owner: list[np.ndarray] = []
    section_owner: list[np.ndarray] = []
    section_base = 0
    for number, pdf in enumerate(evalset.documents, start=1):
        print(f"[{number}/{len(evalset.documents)}] {pdf.name}", file=sys.stderr, flush=True)
        doc = load_document(pdf)
        doc_chunks = builder.build(doc, vectors=False)
        tokens = encoder.tokenize(doc.text)
        sentences, owner, sections, section_of = levels(
            doc.text, doc_chunks, tokens.offsets, args.section_chunks
        )
        states = document_states(encoder, late, tokens.ids)
        levels_spans = ([c.char_span for c in doc_chunks], sentences, sections)
        base = len(chunks)
        chunks.extend(doc_chunks)
        for name, spans in zip(scores_of, levels_spans, strict=True):
            scores_of[name].append(pool_spans(states, token_spans(tokens.offsets, spans)))
        sentence_owner.append(np.asarray(owner, dtype=np.int64) + base)
        section_owner.append(np.asarray(section_of, dtype=np.int64) + section_base)
        section_base += len(sections)
    matrices = {name: np.vstack(parts) for name, parts in scores_of.items()}
    owners = np.concatenate(sentence_owner)
    sections_of = np.concatenate(section_owner)

    rows: dict[str, list[dict[str, float]]] = {name: [] for name in RANKINGS}
    for query in evalset.page_queries:
        q = encoder.embed([query.text], "query")[0]
        per_level = {
            "chunk": matrices["chunk"] @ q,
            "sentence": _best_per_chunk(matrices["sentence"] @ q, owners, len(chunks)),
            "section": (matrices["section"] @ q)[sections_of],
        }
        per_level["sentence"] = np.where(
            np.isfinite(per_level["sentence"]), per_level["sentence"], per_level["chunk"]
        )
        for name, parts in RANKINGS.items():
            combined = np.mean([per_level[p] for p in parts], axis=0)
            top = np.argsort(-combined)[:10]
            hits = [Hit(chunks[i], float(combined[i])) for i in top]
            rows[name].append(page_scores(hits, query))

    print(f"# FinanceBench, multi-granularity late chunking, bundled {encoder.name}")
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores")
    print(
        f"# {len(evalset.documents)} filings, {evalset.size} questions, chunks of "
        f"{args.chunk_size} tokens, sections of {args.section_chunks} chunks, "
        f"{len(matrices['sentence'])} sentences, {len(chunks)} chunks"
    )
    print("| ranking | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, scored in rows.items():
        metrics = mean(scored)
        print(f"| {name} | " + " | ".join(f"{metrics[c]:.3f}" for c in COLUMNS) + " |")


def document_states(
    encoder: TransformerEncoder, late: LateVectorizer, ids: Sequence[int]
) -> np.ndarray:
    """Every content token's state, each from the macro window that keeps it."""
    windows = macro_windows(len(ids), late.window, late.overlap)
    parts: list[np.ndarray] = []
    for first in range(0, len(windows), WINDOWS_PER_CALL):
        batch = windows[first : first + WINDOWS_PER_CALL]
        outputs = encoder.token_states([ids[w.start : w.end] for w in batch])
        parts += [out.body[w.keep_from - w.start :] for w, out in zip(batch, outputs, strict=True)]
    return np.vstack(parts)


def _best_per_chunk(scores: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    best = np.full(count, -np.inf)
    np.maximum.at(best, owners, scores)
    return best


if __name__ == "__main__":
    main()
