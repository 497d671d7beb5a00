"""Run an evaluation: ingest a folder into a fresh collection, ask every query, score."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.pipeline import FileResult
from rag.config import RAGConfig, StoreConfig
from rag.evaluation.datasets import load_eval_set
from rag.evaluation.metrics import doc_scores, mean, page_scores, percentile
from rag.protocols import TokenEmbedder
from rag.sdk import RAG


@dataclass(frozen=True)
class EvalReport:
    """Scores of one configuration on one evaluation folder, with the settings that made them."""

    kind: str
    documents: int
    queries: int
    metrics: dict[str, float]
    ingest_seconds: float
    tokens: int
    query_p50_ms: float
    query_p95_ms: float
    settings: dict[str, Any]
    failed: tuple[str, ...] = field(default=())

    @property
    def tokens_per_second(self) -> float:
        """Ingest throughput in document tokens per second."""
        return self.tokens / self.ingest_seconds if self.ingest_seconds else 0.0


def evaluate(
    config: RAGConfig,
    folder: Path,
    *,
    k: int = 10,
    every: int = 1,
    encoder: TokenEmbedder | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    on_query: Callable[[], None] | None = None,
    keep: Path | None = None,
) -> EvalReport:
    """Evaluate ``config``'s retrieval on ``folder`` in a temporary embedded collection.

    ``k`` is how many chunks each query retrieves (at least 10, for the @10 metrics). With
    ``keep``, the collection and corpus live in that folder instead and outlast the call, so a
    second evaluation with other retrieval settings finds the documents unchanged and only asks
    the queries again (its ingest seconds and tokens then count only what was new).
    """
    with _work_dir(keep) as scratch:
        evalset = load_eval_set(folder, every=every, work_dir=scratch / "corpus")
        store = StoreConfig(
            path=scratch / "store",
            collection="eval",
            quantization=config.store.quantization,
            hnsw_ef=config.store.hnsw_ef,
        )
        with RAG(config.model_copy(update={"store": store}), encoder=encoder) as rag:
            started = time.perf_counter()
            report = rag.ingest(evalset.documents, on_result=on_result)
            ingest_seconds = time.perf_counter() - started
            depth = max(k, 10)
            rows: list[dict[str, float]] = []
            latencies: list[float] = []
            for page_query in evalset.page_queries:
                started = time.perf_counter()
                hits = rag.search(page_query.text, depth)
                latencies.append(time.perf_counter() - started)
                rows.append(page_scores(hits, page_query))
                if on_query:
                    on_query()
            for doc_query in evalset.doc_queries:
                started = time.perf_counter()
                hits = rag.search(doc_query.text, depth)
                latencies.append(time.perf_counter() - started)
                rows.append(doc_scores(hits, doc_query, k))
                if on_query:
                    on_query()
            stored = rag.documents()
            settings: dict[str, Any] = {
                **(dict(stored[0].metadata) if stored else {}),
                "k": depth,
                "top_k": config.top_k,
                "every": every,
                "retrieval": config.retrieval.model_dump(mode="json"),
                "rerank": config.rerank.model_dump(mode="json"),
                "hnsw_ef": config.store.hnsw_ef,
            }
    return EvalReport(
        kind=evalset.kind,
        documents=len(evalset.documents),
        queries=evalset.size,
        metrics=mean(rows),
        ingest_seconds=ingest_seconds,
        tokens=sum(f.tokens for f in report.files),
        query_p50_ms=1000 * percentile(latencies, 50),
        query_p95_ms=1000 * percentile(latencies, 95),
        settings=settings,
        failed=tuple(f.error or f.path for f in report.failed),
    )


@contextmanager
def _work_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="laterag-eval-") as scratch:
        yield Path(scratch)
