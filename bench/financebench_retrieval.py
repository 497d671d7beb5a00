"""Page recall of LateRAG retrieval on FinanceBench filings, one shared collection per setting.

Usage: python bench/financebench_retrieval.py [--every N] [--settings late:64,mixed@0.3:64 ...]
           [--retrieval dense,title,title@1+page,hybrid@0.5,dbsf,embedding,hybrid+title]
           [--cross-encoder MODEL] [--max-tokens N] [--precision auto|fp32|bf16]
           [--keep DIR]

For each mode:chunk_size setting (mode late, naive or mixed; mixed@A sets the late weight),
ingests the filings (every N-th one by name; all by default) into one embedded collection,
then asks every question of those filings against the whole collection once per retrieval
variant: dense, hybrid (dense fused with BM25 by RRF; hybrid@W
weighs BM25 by W), dbsf (the same by score fusion), title (the title boost; title@W sets its
weight), page (at most one hit a page; page@N: N), embedding (E2Rank-style reranking of 30
dense candidates; embedding@A sets alpha), cross-encoder (with --cross-encoder), ef@N (the
HNSW search keeps N candidates; ef@0 searches exactly; default: the library's) and any of
them joined by "+"; title and page are off unless named. Prints page recall@1/5/10, hit@5/10
and MRR@10 (definitions in the data folder's README) with ingest throughput and query latency,
as a Markdown table headed by the date and the machine. Progress goes to stderr, the table
to stdout.

Collections live under --keep (a temporary folder by default), so an interrupted run resumes
where it stopped and later variants reuse the ingested filings.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

from rag import ChunkingConfig, RAGConfig
from rag.config import EmbedderConfig, RerankConfig, RetrievalConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.evaluation import evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench"
COLUMNS = ["recall@1", "recall@5", "recall@10", "hit@5", "hit@10", "mrr@10"]


def retrieval_config(variant: str, cross_encoder: str | None) -> dict[str, object]:
    """The RAGConfig sections for a variant such as "dense", "hybrid@0.5" or "hybrid+embedding".

    Parts joined by "+": dense, hybrid (RRF, off unless named; "@W" sets the BM25 weight),
    dbsf (hybrid by distribution-based score fusion), title (the title boost, off unless
    named; "@W" sets its weight), page (hits a page, off unless named; "@N" sets it, default
    1), embedding ("@A" sets the feedback weight alpha), cross-encoder and ef ("@N": the HNSW
    search's candidates, 0 for exact search).
    """
    parts = dict(_part(p) for p in variant.split("+"))
    known = {"dense", "hybrid", "dbsf", "title", "page", "embedding", "cross-encoder", "ef"}
    unknown = set(parts) - known
    if unknown:
        raise SystemExit(f"unknown retrieval variant part(s): {', '.join(sorted(unknown))}")
    if "cross-encoder" in parts and not cross_encoder:
        raise SystemExit("the cross-encoder variant needs --cross-encoder MODEL")
    retrieval: dict[str, object] = {"hybrid": False, "title_weight": 0.0, "per_page": 0}
    if "hybrid" in parts:
        weight = parts["hybrid"]
        retrieval.update(hybrid=True, **({} if weight is None else {"sparse_weight": weight}))
    if "dbsf" in parts:
        retrieval.update(hybrid=True, fusion="dbsf")
    if "title" in parts:
        weight = parts["title"]
        retrieval["title_weight"] = RetrievalConfig().title_weight if weight is None else weight
    if "page" in parts:
        retrieval["per_page"] = int(parts["page"] or 1)
    rerank = RerankConfig()
    if "embedding" in parts:
        alpha = parts["embedding"]
        rerank = RerankConfig(kind="embedding")
        if alpha is not None:
            rerank = RerankConfig(kind="embedding", alpha=alpha)
    if "cross-encoder" in parts:
        rerank = RerankConfig(kind="cross-encoder", model=cross_encoder)
    store = StoreConfig()
    if "ef" in parts:
        if parts["ef"] is None:
            raise SystemExit("the ef variant part needs a number: ef@256, or ef@0 for exact")
        store = StoreConfig(hnsw_ef=int(parts["ef"]))
    return {
        "retrieval": RetrievalConfig.model_validate(retrieval),
        "rerank": rerank,
        "store": store,
    }


def _part(text: str) -> tuple[str, float | None]:
    name, _, value = text.strip().partition("@")
    try:
        return name, float(value) if value else None
    except ValueError:
        raise SystemExit(f"not a number after @ in retrieval variant part {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--every", type=int, default=1, help="Use every N-th filing by name.")
    parser.add_argument(
        "--settings",
        default="late:64,naive:64",
        help="Comma-separated mode:chunk_size pairs, e.g. late:64,naive:64,late:128.",
    )
    parser.add_argument(
        "--retrieval",
        default="dense",
        help="Comma-separated retrieval variants, e.g. dense,hybrid@0.5,dbsf,hybrid+embedding.",
    )
    parser.add_argument("--cross-encoder", help="Hub name or folder of a cross-encoder reranker.")
    parser.add_argument("--chunker", default="structure")
    parser.add_argument(
        "--max-tokens",
        type=int,
        help="Positions per forward pass (the macro window); default: the model's trained length.",
    )
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="Forward-pass precision (default: the library's auto choice for this machine).",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=Path(tempfile.gettempdir()) / "laterag-financebench",
        help="Folder for the collections, reused by later runs.",
    )
    args = parser.parse_args()
    variants = [v.strip() for v in args.retrieval.split(",")]
    sections = {v: retrieval_config(v, args.cross_encoder) for v in variants}

    embedder = EmbedderConfig(max_tokens=args.max_tokens, precision=args.precision)
    encoder = TransformerEncoder(embedder).load()
    precision = encoder.runtime["precision"]
    print(
        f"# FinanceBench page recall, bundled {encoder.name}, chunker {args.chunker}, "
        f"{encoder.max_tokens}-token windows, {precision}"
    )
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores")
    print(
        "| chunking | size | retrieval | "
        + " | ".join(COLUMNS)
        + " | ingest s | tokens/s | query p50 ms |"
    )
    print("|---|---|---|" + "---|" * (len(COLUMNS) + 3))
    for setting in args.settings.split(","):
        mode, size = setting.split(":")
        mode, _, weight = mode.partition("@")
        chunking = ChunkingConfig.model_validate(
            {"mode": mode, "chunk_size": int(size), "chunker": args.chunker}
            | ({"late_weight": float(weight)} if weight else {})
        )
        window = f"-w{args.max_tokens}" if args.max_tokens else ""
        name = f"{mode}{weight}-{size}-{args.chunker}-every{args.every}{window}-{precision}"
        keep = args.keep / name
        ingest = ""
        for variant in variants:
            print(f"setting {setting}, retrieval {variant}", file=sys.stderr)
            report = evaluate(
                RAGConfig(chunking=chunking, **sections[variant]),  # type: ignore[arg-type]
                args.data,
                every=args.every,
                encoder=encoder,
                keep=keep,
                on_result=lambda r: print(f"  {r.status} {r.path}", file=sys.stderr),
            )
            if report.tokens and not ingest:
                ingest = f"{report.ingest_seconds:.0f} | {report.tokens_per_second:.0f}"
            cells = " | ".join(f"{report.metrics[c]:.3f}" for c in COLUMNS)
            print(
                f"| {mode} | {size} | {variant} | {cells} | {ingest or '- | -'} "
                f"| {report.query_p50_ms:.1f} |",
                flush=True,
            )
    print(f"# {report.documents} filings in one collection, {report.queries} questions")
    print("# ingest columns are empty where the collection was already there from an earlier run")


if __name__ == "__main__":
    main()
