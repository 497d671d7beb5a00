"""Store benchmark: query latency at scale, and the recall cost of quantisation and truncation.

Part 1 fills each backend with synthetic unit vectors (384-d, seeded) and synthetic sparse
vectors, builds the index, and times dense and hybrid queries (top 10) through LateRAG's store
API: the embedded ``EdgeStore`` (qdrant-edge, after ``optimize``; once per HNSW search ef of
``--efs``) and qdrant-client's local mode on disk (pure Python, exact search; skipped above
``--local-max`` chunks).

Part 2 measures recall@10 against exact float search on real MiniLM chunk vectors (the bundled
model, SDK chunking of examples/docs and a FinanceBench 10-K; the FinanceBench questions as
queries): scalar and binary quantisation in the embedded store (HNSW, rescored), and
Matryoshka truncation to 256 and 128 dimensions (exact search on the cut vectors).

Part 3 (with ``--collection DIR``, an embedded collection folder such as one that
``bench/financebench_retrieval.py --keep`` made) measures the HNSW search's ef: the share of
the exact top 50 (the candidates the title boost rescores) that dense search finds at each ef,
and its latency, with the FinanceBench questions as queries.

Prints Markdown tables headed by the date and the machine; progress goes to stderr.

    nice python bench/store_latency.py --sizes 100000,1000000
    python bench/store_latency.py --skip-latency --skip-recall \
        --collection /tmp/laterag-financebench/late-64-structure-every1/store/eval
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from rag.config import HNSW_EF, RAGConfig
from rag.stores import payload as p
from rag.stores.edge import EdgeStore
from rag.types import Chunk, SparseVec
from rag.vectors import truncate

DIM = 384
BLOCK = 10_000
VOCAB = 30_000
K = 10
ROOT = Path(__file__).resolve().parent.parent
FINANCEBENCH = ROOT.parent / "shared" / "data" / "financebench"


def log(message: str) -> None:
    """Progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def block(seed: int, b: int, rows: int = BLOCK) -> np.ndarray:
    """Return block ``b`` of the synthetic unit vectors (regenerated the same from the seed)."""
    x = np.random.default_rng((seed, b)).standard_normal((rows, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sparse(rng: np.random.Generator, terms: int) -> SparseVec:
    """Return a BM25-like sparse vector: ``terms`` Zipf-distributed term ids, weight 1 each."""
    ids = np.unique(np.minimum(rng.zipf(1.3, terms), VOCAB - 1))
    return SparseVec(tuple(int(i) for i in ids), tuple(1.0 for _ in ids))


def synthetic_chunks(n: int, seed: int) -> Iterator[list[Chunk]]:
    """Yield ``n`` chunks in blocks, each with a synthetic dense and sparse vector."""
    rng = np.random.default_rng(seed)
    for b in range(0, (n + BLOCK - 1) // BLOCK):
        rows = min(BLOCK, n - b * BLOCK)
        vectors = block(seed, b, rows)
        yield [
            Chunk(
                doc_id=f"doc-{(b * BLOCK + i) // 50}",
                source=f"/synthetic/doc-{(b * BLOCK + i) // 50}.txt",
                content_hash="0" * 16,
                index=i,
                text=f"synthetic chunk {b * BLOCK + i}",
                char_span=(i * 100, i * 100 + 99),
                vector=vectors[i],
                sparse=sparse(rng, 20),
            )
            for i in range(rows)
        ]


def queries(n: int, seed: int, count: int) -> list[tuple[np.ndarray, SparseVec]]:
    """Return ``count`` queries: stored vectors plus a little noise, and a sparse vector each."""
    rng = np.random.default_rng(seed + 1)
    picks = rng.integers(0, n, count)
    out = []
    for i in picks:
        b, row = divmod(int(i), BLOCK)
        v = block(seed, b, min(BLOCK, n - b * BLOCK))[row] + rng.normal(0, 0.02, DIM)
        out.append(((v / np.linalg.norm(v)).astype(np.float32), sparse(rng, 5)))
    return out


def percentiles(call: Callable[[], object], warmup: int, times: int) -> tuple[float, float]:
    """Return the p50 and p95 in ms of ``call`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    ms = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


@dataclass
class Row:
    """One backend at one size."""

    backend: str
    size: int
    fill: float | None = None
    index: float | None = None
    dense: tuple[float, float] | None = None
    hybrid: tuple[float, float] | None = None
    note: str = ""

    def markdown(self) -> str:
        """The row of the latency table."""

        def sec(x: float | None) -> str:
            return "-" if x is None else f"{x:.0f}"

        def ms(x: tuple[float, float] | None) -> str:
            return "-" if x is None else f"{x[0]:.1f} / {x[1]:.1f}"

        return (
            f"| {self.backend} | {self.size:,} | {sec(self.fill)} | {sec(self.index)} | "
            f"{ms(self.dense)} | {ms(self.hybrid)} | {self.note} |"
        )


def run_edge(
    folder: Path, n: int, qs: list[tuple[np.ndarray, SparseVec]], seed: int, efs: list[int]
) -> list[Row]:
    """Fill, optimise and query the embedded store, once per HNSW search ef."""
    row = Row("EdgeStore (qdrant-edge 0.9, HNSW)", n)
    rows = []
    with EdgeStore(folder) as store:
        store.create_collection(DIM)
        start = time.perf_counter()
        for i, chunks in enumerate(synthetic_chunks(n, seed)):
            store.upsert(chunks)
            if i % 10 == 0:
                done = min(n, (i + 1) * BLOCK)
                log(f"edge {n}: {done:,} chunks in {time.perf_counter() - start:.0f}s")
        row.fill = time.perf_counter() - start
        start = time.perf_counter()
        store.optimize(log)
        row.index = time.perf_counter() - start
        for ef in efs:
            store.hnsw_ef = ef
            dense, hybrid = time_queries(store, qs)
            rows.append(replace(row, dense=dense, hybrid=hybrid, note=f"hnsw_ef {ef}"))
    return rows


def run_local(folder: Path, n: int, qs: list[tuple[np.ndarray, SparseVec]], seed: int) -> Row:
    """Fill and query qdrant-client's local mode on disk (exact search in Python)."""
    from qdrant_client import QdrantClient, models

    row = Row("qdrant-client local mode, on disk", n)
    client = QdrantClient(path=str(folder))
    try:
        client.create_collection(
            "bench",
            vectors_config={
                p.DENSE: models.VectorParams(size=DIM, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={
                p.SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
            },
        )
        start = time.perf_counter()
        for i, chunks in enumerate(synthetic_chunks(n, seed)):
            for batch in p.batches(chunks, 1000):
                points = [
                    models.PointStruct(
                        id=c.id,
                        vector={
                            p.DENSE: np.asarray(c.vector).tolist(),
                            p.SPARSE: models.SparseVector(
                                indices=list(c.sparse.indices),  # type: ignore[union-attr]
                                values=list(c.sparse.values),  # type: ignore[union-attr]
                            ),
                        },
                        payload=p.chunk_to_payload(c),
                    )
                    for c in batch
                ]
                client.upsert("bench", points=points)
            done = min(n, (i + 1) * BLOCK)
            log(f"local {n}: {done:,} chunks in {time.perf_counter() - start:.0f}s")
        row.fill = time.perf_counter() - start

        def dense(v: np.ndarray) -> object:
            return client.query_points("bench", query=v.tolist(), using=p.DENSE, limit=K)

        def hybrid(v: np.ndarray, s: SparseVec) -> object:
            sv = models.SparseVector(indices=list(s.indices), values=list(s.values))
            return client.query_points(
                "bench",
                prefetch=[
                    models.Prefetch(query=v.tolist(), using=p.DENSE, limit=50),
                    models.Prefetch(query=sv, using=p.SPARSE, limit=50),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=K,
            )

        few = qs[: max(20, len(qs) // 10)]  # about 0.1 s a query: fewer of them
        it = iter(few * 3)
        row.dense = percentiles(lambda: dense(next(it)[0]), 3, len(few))
        it = iter(few * 3)
        row.hybrid = percentiles(lambda: hybrid(*next(it)), 3, len(few))
        row.note = f"{len(few)} queries, exact search"
    finally:
        client.close()
    return row


def time_queries(
    store: EdgeStore, qs: list[tuple[np.ndarray, SparseVec]]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return dense and hybrid (p50, p95) in ms through the store API, payloads included."""
    it = iter(qs * 2)
    dense = percentiles(lambda: store.search(next(it)[0], K), 20, len(qs))
    it = iter(qs * 2)
    hybrid = percentiles(lambda: store.hybrid_search(*next(it), K), 20, len(qs))
    return dense, hybrid


def latency(args: argparse.Namespace, work: Path) -> None:
    """Part 1: the latency table."""
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        qs = queries(n, args.seed, args.queries)
        rows += run_edge(work / f"edge-{n}", n, qs, args.seed, args.efs)
        log("\n".join(row.markdown() for row in rows))
        shutil.rmtree(work / f"edge-{n}", ignore_errors=True)
        if n > args.local_max:
            rows.append(
                Row(
                    "qdrant-client local mode, on disk",
                    n,
                    note=f"skipped (filling takes ~{n / 850 / 60:.0f} min at ~850 upserts/s; "
                    "raise --local-max to run it)",
                )
            )
        else:
            rows.append(run_local(work / f"local-{n}", n, qs, args.seed))
            shutil.rmtree(work / f"local-{n}", ignore_errors=True)
        log(rows[-1].markdown())
    print(f"\n# Store latency, top {K}, 384-d synthetic unit vectors + 20-term sparse vectors")
    print(
        f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
        f"Python {platform.python_version()}, load average at start {args.load}"
    )
    print(
        "| backend | chunks | fill s | index build s | dense p50 / p95 ms | hybrid p50 / p95 ms | |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())


def real_vectors(pdfs: list[Path], questions: int) -> tuple[np.ndarray, np.ndarray, list[Chunk]]:
    """Return chunk vectors of the example docs and ``pdfs`` (SDK chunking) and query vectors."""
    from rag.sdk import RAG

    files = sorted((ROOT / "examples" / "docs").iterdir()) + pdfs
    with RAG(RAGConfig()) as rag:
        chunks: list[Chunk] = []
        for path in files:
            start = time.perf_counter()
            chunks += rag.chunks(path, vectors=True)
            log(
                f"chunked {path.name}: {len(chunks)} chunks so far, "
                f"{time.perf_counter() - start:.0f}s"
            )
        lines = (FINANCEBENCH / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["question"] for line in lines[:questions]]
        qv = rag.encoder.embed(texts, "query")
    matrix = np.stack([np.asarray(c.vector, dtype=np.float32) for c in chunks])
    return matrix, np.asarray(qv, dtype=np.float32), chunks


def top(matrix: np.ndarray, qv: np.ndarray) -> list[set[int]]:
    """Exact top-k row sets by cosine (rows are unit vectors)."""
    scores = qv @ matrix.T
    return [set(np.argsort(-row)[:K].tolist()) for row in scores]


def recall(found: list[set[int]], truth: list[set[int]]) -> float:
    """Mean overlap of found and true top-k sets."""
    return float(np.mean([len(f & t) / K for f, t in zip(found, truth, strict=True)]))


def dense_ms(store: EdgeStore, qv: np.ndarray, k: int = K) -> tuple[float, float]:
    """The p50 and p95 ms of a top-``k`` dense search of each query."""
    cycle = iter(list(qv) * 2)
    return percentiles(lambda: store.search(next(cycle), k), 10, len(qv))


def recall_table(args: argparse.Namespace, work: Path) -> None:
    """Part 2: recall@10 of quantisation and truncation vs exact float search."""
    pdfs = [FINANCEBENCH / "pdfs" / name for name in args.pdfs.split(",") if name]
    matrix, qv, chunks = real_vectors(pdfs, args.questions)
    truth = top(matrix, qv)
    ids = {c.id: i for i, c in enumerate(chunks)}
    rows = []
    for kind in ("none", "scalar", "binary"):
        folder = work / f"recall-{kind}"
        with EdgeStore(folder, quantization=kind, indexing_threshold_kb=1) as store:
            store.create_collection(DIM)
            store.upsert(chunks)
            store.optimize()
            status = store.index_status()
            found = [{ids[h.chunk.id] for h in store.search(q, K)} for q in qv]
            p50 = dense_ms(store, qv)[0]
        shutil.rmtree(folder, ignore_errors=True)
        indexed = f"{status.indexed_vectors:,} vectors indexed" if status else ""
        label = "float32 (HNSW)" if kind == "none" else f"{kind} quantisation (HNSW, rescored)"
        rows.append(f"| {label} | {DIM} | {recall(found, truth):.3f} | {p50:.1f} | {indexed} |")
    for dims in (256, 128):
        cut = top(truncate(matrix, dims), truncate(qv, dims))
        rows.append(f"| Matryoshka truncation (exact) | {dims} | {recall(cut, truth):.3f} | - | |")
    print(f"\n# Recall@{K} vs exact float search, real MiniLM late-chunking vectors")
    print(
        f"# {len(chunks):,} chunks (examples/docs + {', '.join(p.name for p in pdfs)}), "
        f"{len(qv)} FinanceBench questions; {date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores"
    )
    print("| search | dims | recall@10 | p50 ms | |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(row)


EF_DEPTH = 50
EFS = (100, 128, 256, 512, 1024, 0)


def ef_table(args: argparse.Namespace) -> None:
    """Part 3: recall of the top 50 and latency at each HNSW ef on a stored collection."""
    from rag.encoders import TransformerEncoder

    lines = (FINANCEBENCH / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["question"] for line in lines[: args.questions]]
    qv = np.asarray(TransformerEncoder().load().embed(texts, "query"), dtype=np.float32)
    rows: list[str] = []
    truth: list[set[str]] = []
    for ef in sorted(EFS, key=lambda e: e != 0):  # exact first: it is the truth
        with EdgeStore(args.collection, hnsw_ef=ef) as store:
            found = [{h.chunk.id for h in store.search(q, EF_DEPTH)} for q in qv]
            p50, p95 = dense_ms(store, qv, EF_DEPTH)
            status = store.index_status()
        truth = truth or found
        shares = [len(f & t) / EF_DEPTH for f, t in zip(found, truth, strict=True)]
        label = "exact (0)" if ef == 0 else str(ef)
        rows.append(
            f"| {label} | {np.mean(shares):.3f} | {min(shares):.2f} | {p50:.1f} / {p95:.1f} |"
        )
        log(rows[-1])
    points = f"{status.points:,} chunks" if status else "no collection"
    print(f"\n# HNSW ef: share of the exact top {EF_DEPTH} found, {args.collection}")
    print(
        f"# {points}, {len(qv)} FinanceBench questions; {date.today()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, load average at start {args.load}"
    )
    print(f"| hnsw_ef | mean share of exact top {EF_DEPTH} | worst query | p50 / p95 ms |")
    print("|---|---|---|---|")
    print("\n".join(sorted(rows, key=lambda r: r.startswith("| exact"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="Comma-separated chunk counts.")
    parser.add_argument("--queries", type=int, default=200, help="Timed queries per backend.")
    parser.add_argument(
        "--efs",
        default=f"100,{HNSW_EF}",
        type=lambda s: [int(x) for x in s.split(",")],
        help="HNSW search ef values the embedded store is timed at (100: Qdrant's default).",
    )
    parser.add_argument(
        "--local-max",
        type=int,
        default=100_000,
        help="Largest size run in qdrant-client local mode (slow to fill).",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pdfs", default="3M_2018_10K.pdf", help="FinanceBench PDFs for recall.")
    parser.add_argument("--questions", type=int, default=94, help="FinanceBench questions used.")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--work", type=Path, help="Scratch folder (default: a temporary one).")
    parser.add_argument(
        "--collection", type=Path, help="Embedded collection folder for the HNSW ef table."
    )
    args = parser.parse_args()
    args.load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    work = args.work or Path(tempfile.mkdtemp(prefix="laterag-store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_recall:
            recall_table(args, work)
        if not args.skip_latency:
            latency(args, work)
        if args.collection:
            ef_table(args)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
