"""The JSON shapes of LateRAG results, shared by the CLI and any other front end."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ingestion.pipeline import FileResult, IngestReport
from rag.evaluation.runner import EvalReport
from rag.types import Answer, Chunk, Citation, DocumentInfo, Hit, Span


def _span(span: Span | None) -> list[int] | None:
    return list(span) if span is not None else None


def chunk_json(chunk: Chunk, *, vector: bool = False) -> dict[str, Any]:
    """A chunk: ids, spans (char/token half-open, pages 1-based inclusive), text, context."""
    out: dict[str, Any] = {
        "id": chunk.id,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "index": chunk.index,
        "char_span": _span(chunk.char_span),
        "token_span": _span(chunk.token_span),
        "page_span": _span(chunk.page_span),
        "headings": list(chunk.headings),
        "text": chunk.text,
    }
    if chunk.context:  # a table's header row over a chunk of its rows
        out["context"] = chunk.context
    if vector:
        out["vector"] = None if chunk.vector is None else [float(x) for x in chunk.vector]
    return out


def hit_json(hit: Hit, rank: int) -> dict[str, Any]:
    """A search hit: rank (1-based), score and its chunk's fields."""
    return {"rank": rank, "score": hit.score, **chunk_json(hit.chunk)}


def citation_json(citation: Citation) -> dict[str, Any]:
    """A citation ``[number]`` and where it points."""
    return {
        "number": citation.number,
        "doc_id": citation.doc_id,
        "source": citation.source,
        "page_span": _span(citation.page_span),
        "char_span": _span(citation.char_span),
        "text": citation.text,
        "quote": citation.quote,
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer with its citations and the hits it was written from."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "generator": answer.generator,
        "citations": [citation_json(c) for c in answer.citations],
        "hits": [hit_json(h, i) for i, h in enumerate(answer.hits, start=1)],
    }


def ingest_json(report: IngestReport) -> dict[str, Any]:
    """An ingest run: one entry per file, then totals."""
    return {
        "files": [asdict(f) for f in report.files],
        **{status: report.count(status) for status in ("ingested", "updated", "unchanged")},
        "failed": report.count("failed"),
        "chunks": sum(f.chunks for f in report.files if f.status in ("ingested", "updated")),
        "tokens": sum(f.tokens for f in report.files),
        "seconds": round(report.seconds, 3),
    }


def document_json(info: DocumentInfo) -> dict[str, Any]:
    """A stored document."""
    return {
        "doc_id": info.doc_id,
        "source": info.source,
        "name": Path(info.source).name,
        "content_hash": info.content_hash,
        "chunks": info.chunks,
        "settings": dict(info.metadata),
    }


def file_line(result: FileResult) -> str:
    """One human-readable line for a file's result."""
    if result.error:
        return f"failed     {result.error}"
    return f"{result.status:<10} {result.path} ({result.chunks} chunks)"


def eval_json(report: EvalReport) -> dict[str, Any]:
    """An evaluation run: the scores, the speed and every setting that produced them."""
    return {
        "kind": report.kind,
        "documents": report.documents,
        "queries": report.queries,
        "metrics": report.metrics,
        "ingest_seconds": round(report.ingest_seconds, 3),
        "tokens": report.tokens,
        "tokens_per_second": round(report.tokens_per_second, 1),
        "query_p50_ms": round(report.query_p50_ms, 2),
        "query_p95_ms": round(report.query_p95_ms, 2),
        "settings": report.settings,
        "failed": list(report.failed),
    }
