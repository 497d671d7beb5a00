"""Settings, one pydantic model per component; read from flags or files only at the edges."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

DEFAULT_COLLECTION = "default"
DEFAULT_STORE_DIR = Path(".laterag")

HNSW_EF = 512
"""Candidates the HNSW graph search keeps per dense query, unless configured.

On 122k MiniLM chunks of FinanceBench, Qdrant's own default (its build-time ef, 100) found 0.94
of the exact top 50, and one question only 0.32 of it; 512 finds 0.99 (the worst question 0.90)
in under 3 ms (bench/store_latency.py --collection, README).
"""


Precision = Literal["fp32", "bf16"]
Backend = Literal["torch", "onnx"]
ChunkingMode = Literal["late", "naive", "mixed"]
ChunkerName = Literal["tokens", "sentences", "structure"]
SpecialTokens = Literal["paper", "none"]
Quantization = Literal["none", "scalar", "binary"]
"""How dense vectors are compressed for search: not, int8 per dimension, or one bit each."""
Fusion = Literal["rrf", "dbsf"]
QueryMode = Literal["plain", "multi-query", "hyde", "iterative"]
RerankKind = Literal["none", "cross-encoder", "embedding", "llm"]

RRF_K = 60
"""The damping constant of reciprocal rank fusion, in the store's hybrid search and query modes."""


def default_cache_dir() -> Path:
    """LateRAG's cache folder: ``$XDG_CACHE_HOME/laterag`` (``~/.cache/laterag`` when unset)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "laterag"


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmbedderConfig(_Settings):
    """Which encoder to run and how: ``model`` None means the bundled all-MiniLM-L6-v2."""

    model: str | None = None
    max_tokens: int | None = Field(
        default=None, ge=8, description="Positions per forward pass; default: the trained length."
    )
    query_prefix: str | None = None
    document_prefix: str | None = None
    device: str = Field(default="cpu", description="Torch device: cpu, cuda, cuda:N or mps.")
    trust_remote_code: bool = False
    batch_tokens: int = Field(default=8192, ge=64)
    precision: Precision = Field(
        default="fp32", description="Weights and activations; bf16 vectors keep cosine >= 0.999."
    )
    backend: Backend = Field(
        default="torch", description="Forward pass in torch, or ONNX Runtime (cpu, fp32)."
    )
    threads: int | None = Field(
        default=None, ge=1, description="CPU threads for the forward pass; default: the cores."
    )
    cache_mb: int = Field(
        default=0, ge=0, description="Size cap of the window embedding cache; 0 turns it off."
    )
    dims: int | None = Field(
        default=None,
        ge=8,
        description="Keep the first dims of each vector, renormalised (Matryoshka); "
        "default: all. A collection keeps the size it was made with.",
    )


class ChunkingConfig(_Settings):
    """How documents are cut into chunks and how chunk vectors are made."""

    mode: ChunkingMode = "mixed"
    chunker: ChunkerName = "structure"
    chunk_size: int = Field(default=64, ge=8, description="Most content tokens in one chunk.")
    overlap: int | None = Field(
        default=None, ge=0, description="Macro-window overlap in tokens; default: a quarter window."
    )
    special_tokens: SpecialTokens = "paper"
    late_weight: float = Field(
        default=0.4,
        gt=0.0,
        lt=1.0,
        description="Weight of the late vector in a mixed chunk vector, the rest going to the "
        "chunk embedded alone (mixed only).",
    )


class StoreConfig(_Settings):
    """Where vectors live: an embedded folder (default) or a Qdrant server at ``url``."""

    path: Path = DEFAULT_STORE_DIR
    url: str | None = None
    api_key: SecretStr | None = None
    collection: str = Field(
        default=DEFAULT_COLLECTION, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
    )
    shards: int | None = Field(
        default=None, ge=1, description="Shards of a new server collection; default: the server's."
    )
    replication: int | None = Field(
        default=None, ge=1, description="Copies of each shard on a server; default: the server's."
    )
    write_consistency: int | None = Field(
        default=None, ge=1, description="Replicas that must confirm a write; default: the server's."
    )
    quantization: Quantization = Field(
        default="none",
        description="Compress dense vectors of a new collection for search (int8 or one bit), "
        "rescoring the best candidates with the full vectors.",
    )
    hnsw_ef: int = Field(
        default=HNSW_EF,
        ge=0,
        description="Candidates the HNSW index keeps per dense search: more find more of the "
        "true nearest chunks, a little slower; 0 searches exactly (a full scan).",
    )

    @model_validator(mode="after")
    def _consistency_fits_replication(self) -> StoreConfig:
        wc, rf = self.write_consistency, self.replication
        if wc is not None and rf is not None and wc > rf:
            raise ValueError(f"write consistency {wc} exceeds the replication factor {rf}")
        return self


class LLMConfig(_Settings):
    """An OpenAI-compatible chat endpoint; without one, answers are extractive."""

    base_url: str | None = None
    model: str | None = None
    api_key: SecretStr | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries after a refused connection, a timeout, HTTP 408/409/429 or 5xx.",
    )
    retry_base_seconds: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="Backoff base: retry n waits up to base * 2**n s (full jitter; cap 8 s).",
    )

    @property
    def enabled(self) -> bool:
        """True when an endpoint and a model are both set."""
        return bool(self.base_url and self.model)

    @model_validator(mode="after")
    def _both_or_neither(self) -> LLMConfig:
        if bool(self.base_url) != bool(self.model):
            raise ValueError("set both the LLM base URL and the LLM model, or neither")
        return self


class RerankConfig(_Settings):
    """Whether and how to rerank search hits: ``kind`` "none" keeps the vector order."""

    kind: RerankKind = "none"
    model: str | None = Field(
        default=None, description="The cross-encoder's hub name or folder (cross-encoder only)."
    )
    candidates: int = Field(
        default=30, ge=1, le=1000, description="Hits fetched before reranking down to top-k."
    )
    feedback: int = Field(
        default=3, ge=0, description="Top candidates that enrich the query (embedding only)."
    )
    alpha: float = Field(
        default=0.5,
        ge=0.0,
        allow_inf_nan=False,
        description="Weight of the feedback in the query (embedding only).",
    )


class RetrievalConfig(_Settings):
    """How a query finds chunks: dense only, or hybrid (dense fused with BM25 sparse)."""

    hybrid: bool = False
    fusion: Fusion = "rrf"
    dense_weight: float = Field(
        default=1.0, ge=0.0, allow_inf_nan=False, description="Weight of dense ranks (rrf)."
    )
    sparse_weight: float = Field(
        default=1.0, ge=0.0, allow_inf_nan=False, description="Weight of BM25 ranks (rrf)."
    )
    title_weight: float = Field(
        default=3.0,
        ge=0.0,
        allow_inf_nan=False,
        description="Raise each hit's score s by this times |s| times the cosine between the "
        "query and the hit's file name (0: off).",
    )
    per_page: int = Field(
        default=1,
        ge=0,
        description="Most hits from one page of a document (0: no limit); chunks without "
        "pages are not grouped.",
    )
    query_mode: QueryMode = Field(
        default="plain",
        description="Let the LLM rewrite the query (multi-query), write a hypothetical answer "
        "to search with (hyde), or ask follow-up queries (iterative); needs an LLM.",
    )
    query_variants: int = Field(
        default=3, ge=1, le=10, description="Rewrites of the query (multi-query only)."
    )
    rounds: int = Field(default=2, ge=1, le=5, description="Retrievals in all (iterative only).")

    @model_validator(mode="after")
    def _weights_fit_fusion(self) -> RetrievalConfig:
        if self.dense_weight == 0 and self.sparse_weight == 0:
            raise ValueError("dense and sparse weights cannot both be 0")
        if self.fusion == "dbsf" and self.dense_weight != self.sparse_weight:
            raise ValueError("dbsf fusion weighs dense and sparse equally: use rrf to weight them")
        return self


class RAGConfig(_Settings):
    """Everything a ``RAG`` needs."""

    embedder: EmbedderConfig = EmbedderConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    store: StoreConfig = StoreConfig()
    llm: LLMConfig = LLMConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    rerank: RerankConfig = RerankConfig()
    top_k: int = Field(default=5, ge=1, le=1000)
