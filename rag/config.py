"""Settings, one pydantic model per component; read from flags or files only at the edges."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo

DEFAULT_COLLECTION = "default"
DEFAULT_STORE_DIR = Path(".laterag")

HNSW_EF = 512
"""Candidates the HNSW graph search keeps per dense query, unless configured.

On 122k MiniLM chunks of FinanceBench, Qdrant's own default (its build-time ef, 100) found 0.94
of the exact top 50, and one question only 0.32 of it; 512 finds 0.99 (the worst question 0.90)
in under 3 ms (bench/store_latency.py --collection, README).
"""


Precision = Literal["auto", "fp32", "bf16"]
Backend = Literal["torch", "onnx"]
ChunkingMode = Literal["late", "naive", "mixed"]
ChunkerName = Literal["tokens", "sentences", "structure"]
SpecialTokens = Literal["paper", "none"]
WindowContext = Literal["none", "title"]
Quantization = Literal["none", "scalar", "binary"]
"""How dense vectors are compressed for search: not, int8 per dimension, or one bit each."""
Fusion = Literal["rrf", "dbsf"]
QueryMode = Literal["plain", "multi-query", "hyde", "iterative"]
RerankKind = Literal["none", "cross-encoder", "embedding", "llm"]
Executor = Literal["local", "ray"]

RRF_K = 60
"""The damping constant of reciprocal rank fusion, in the store's hybrid search and query modes."""


def default_cache_dir() -> Path:
    """LateRAG's cache folder: ``$XDG_CACHE_HOME/laterag`` (``~/.cache/laterag`` when unset)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "laterag"


def setting(
    default: Any = None,
    description: str = "",
    *,
    flag: str | None = None,
    env: str | None = None,
    bare: str | None = None,
    implies: dict[str, str] | None = None,
    **constraints: Any,
) -> Any:
    """A settings field: its default, its help, and the command-line flag and variable that set it.

    ``flag`` is the option's spelling (space-separated for aliases, ``--a/--no-a`` for a
    switch); without one a field is not a command-line option of its own name only, see
    ``rag.cli_options``. ``env`` is the environment variable the settings layer reads for it.
    ``bare`` lets the flag be given without a value, meaning that one; ``implies`` names
    other settings of the same section that giving the flag also sets.
    """
    pairs = (("flag", flag), ("env", env), ("bare", bare), ("implies", implies))
    extra: dict[str, Any] = {key: value for key, value in pairs if value is not None}
    return Field(default, description=description, json_schema_extra=extra or None, **constraints)


def field_extra(info: FieldInfo, key: str) -> str | None:
    """The ``flag``, ``env`` or ``bare`` a ``setting`` was given, or None."""
    extra = info.json_schema_extra
    value = extra.get(key) if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def field_implies(info: FieldInfo) -> dict[str, str]:
    """The other settings a ``setting``'s flag also sets, when given."""
    extra = info.json_schema_extra
    value = extra.get("implies") if isinstance(extra, dict) else None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def problems(
    errors: Iterable[Mapping[str, Any]], labels: Mapping[tuple[Any, ...], str] | None = None
) -> str:
    """One line from pydantic's validation errors: ``where: what`` each, ``where`` relabelled."""
    names = labels or {}
    return "; ".join(
        f"{names.get(tuple(e['loc']), '.'.join(map(str, e['loc'])))}: {e['msg']}" for e in errors
    )


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmbedderConfig(_Config):
    """Which encoder to run and how: ``model`` None means the bundled all-MiniLM-L6-v2."""

    model: str | None = setting(
        None,
        "Hugging Face encoder name or folder (default: the collection's, else MiniLM).",
        env="LATERAG_MODEL",
    )
    max_tokens: int | None = setting(
        None, "Positions per forward pass (default: the trained length).", ge=8
    )
    query_prefix: str | None = setting(None, "Text put before every query (default: the model's).")
    document_prefix: str | None = setting(
        None, "Text put before every document window (default: the model's)."
    )
    device: str = setting(
        "auto", "Torch device: auto (a CUDA GPU if torch sees one, else cpu), cpu, cuda:N, mps."
    )
    trust_remote_code: bool = setting(
        False, "Allow the model folder's own Python code (jina, nomic).", flag="--trust-remote-code"
    )
    batch_tokens: int = setting(8192, "Most padded tokens in one forward pass.", ge=64)
    precision: Precision = setting(
        "auto",
        "Forward-pass precision: auto is bf16 where the device computes it natively (CPUs "
        "with AVX-512 BF16 or AMX, recent GPUs; cosine >= 0.999 to fp32), else fp32.",
    )
    backend: Backend = setting(
        "torch", "Run the model in torch, or in ONNX Runtime (cpu, fp32; needs laterag[onnx])."
    )
    threads: int | None = setting(
        None, "CPU threads for the forward pass (default: the cores).", ge=1
    )
    cache_mb: int = setting(
        0,
        "Cache window vectors in ~/.cache/laterag up to N MB, so unchanged content is not "
        "embedded again; 0 turns it off.",
        flag="--embedding-cache-mb",
        ge=0,
    )
    dims: int | None = setting(
        None,
        "Keep the first N dimensions of each vector, renormalised (Matryoshka); default: all, "
        "or the collection's size.",
        ge=8,
    )


class ChunkingConfig(_Config):
    """How documents are cut into chunks and how chunk vectors are made."""

    mode: ChunkingMode = setting("mixed", "How chunk vectors are made.", flag="--chunking")
    chunker: ChunkerName = setting("structure", "Where chunk boundaries go.")
    chunk_size: int = setting(64, "Most tokens in a chunk.", ge=8)
    overlap: int | None = setting(
        None, "Macro-window overlap in tokens (default: a quarter window).", ge=0
    )
    special_tokens: SpecialTokens = setting(
        "paper", "Pool the special tokens into the first and last chunk (paper) or not (none)."
    )
    context: WindowContext = setting(
        "none",
        "Put the document's title before every macro window and every chunk embedded alone "
        "(title), so each vector sees which document it is from; its states are never pooled.",
    )
    late_weight: float = setting(
        0.4,
        "Share of the late vector in a mixed chunk vector, the rest going to the chunk "
        "embedded alone (--chunking mixed only).",
        gt=0.0,
        lt=1.0,
    )


class StoreConfig(_Config):
    """Where vectors live: an embedded folder (default) or a Qdrant server at ``url``."""

    path: Path = setting(
        DEFAULT_STORE_DIR, "Embedded Qdrant store folder.", flag="--store", env="LATERAG_STORE"
    )
    url: str | None = setting(
        None, "Use a Qdrant server instead.", flag="--qdrant-url", env="LATERAG_QDRANT_URL"
    )
    api_key: SecretStr | None = setting(
        None, "Server API key.", flag="--qdrant-api-key", env="QDRANT_API_KEY"
    )
    collection: str = setting(
        DEFAULT_COLLECTION,
        "Collection name.",
        env="LATERAG_COLLECTION",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$",
    )
    shards: int | None = setting(
        None,
        "Shards of a new server collection (default: the server's, one per node).",
        env="LATERAG_SHARDS",
        ge=1,
    )
    replication: int | None = setting(
        None,
        "Copies of each shard of a new server collection (default: the server's).",
        env="LATERAG_REPLICATION",
        ge=1,
    )
    write_consistency: int | None = setting(
        None,
        "Replicas that must confirm each write to a new server collection (default: the server's).",
        env="LATERAG_WRITE_CONSISTENCY",
        ge=1,
    )
    quantization: Quantization = setting(
        "none",
        "Compress the vectors of a new collection for search, rescoring with the full ones: "
        "int8 (scalar) or one bit (binary).",
    )
    hnsw_ef: int = setting(
        HNSW_EF,
        "Candidates the HNSW index keeps per dense search; more find more of the true nearest "
        "chunks, a little slower; 0: exact search.",
        ge=0,
    )

    @model_validator(mode="after")
    def _consistency_fits_replication(self) -> StoreConfig:
        wc, rf = self.write_consistency, self.replication
        if wc is not None and rf is not None and wc > rf:
            raise ValueError(f"write consistency {wc} exceeds the replication factor {rf}")
        return self


class LLMConfig(_Config):
    """An OpenAI-compatible chat endpoint; without one, answers are extractive."""

    base_url: str | None = setting(
        None, "OpenAI-compatible endpoint.", flag="--llm-base-url", env="LATERAG_LLM_BASE_URL"
    )
    model: str | None = setting(
        None, "Chat model name.", flag="--llm-model", env="LATERAG_LLM_MODEL"
    )
    api_key: SecretStr | None = setting(None, "The endpoint's API key.", env="OPENAI_API_KEY")
    temperature: float = setting(0.0, "Sampling temperature.", ge=0.0, le=2.0)
    timeout: float = setting(60.0, "Seconds to wait for the LLM.", flag="--llm-timeout", gt=0)
    max_retries: int = setting(
        2,
        "Retries after a refused connection, a timeout, HTTP 408/409/429 or 5xx.",
        ge=0,
        le=10,
    )
    retry_base_seconds: float = setting(
        0.5,
        "Backoff base: retry n waits up to base * 2**n s (full jitter; cap 8 s).",
        ge=0,
        le=60,
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


class RerankConfig(_Config):
    """Whether and how to rerank search hits: ``kind`` "none" keeps the vector order."""

    kind: RerankKind = setting("none", "Rerank the hits.", flag="--rerank")
    model: str | None = setting(
        None,
        "Cross-encoder name or folder (with --rerank cross-encoder).",
        flag="--rerank-model",
    )
    candidates: int = setting(30, "Hits fetched before reranking down to k.", ge=1, le=1000)
    feedback: int = setting(
        3, "Top candidates that enrich the query (embedding reranker only).", ge=0
    )
    alpha: float = setting(
        0.5,
        "Weight of the feedback in the query (embedding reranker only).",
        ge=0.0,
        allow_inf_nan=False,
    )


class RetrievalConfig(_Config):
    """How a query finds chunks: dense only, or hybrid (dense fused with BM25 sparse)."""

    hybrid: bool = setting(
        False, "Fuse dense search with BM25 keyword search.", flag="--hybrid/--no-hybrid"
    )
    fusion: Fusion = setting("rrf", "How hybrid search merges the two rankings.")
    dense_weight: float = setting(
        1.0, "Weight of the dense ranking (rrf).", ge=0.0, allow_inf_nan=False
    )
    sparse_weight: float = setting(
        1.0, "Weight of the BM25 ranking (rrf).", ge=0.0, allow_inf_nan=False
    )
    title_weight: float = setting(
        3.0,
        "Raise each hit's score s by this times |s| times the cosine between the query and "
        "the hit's file name; 0 turns it off.",
        ge=0.0,
        allow_inf_nan=False,
    )
    exact_weight: float = setting(
        1.0,
        "Raise each hit's score s by this times |s| times its share of the query's numbers and "
        "codes it holds (a whole term, after the same word: full; elsewhere: half); 0 turns "
        "it off.",
        ge=0.0,
        allow_inf_nan=False,
    )
    per_page: int = setting(
        1,
        "Most hits from one page of a document; 0: no limit (chunks without pages are not "
        "grouped).",
        ge=0,
    )
    query_mode: QueryMode = setting(
        "plain",
        "Let the LLM rewrite the query (multi-query), search with a hypothetical answer "
        "(hyde), or ask follow-up queries (iterative); needs an LLM.",
    )
    query_variants: int = setting(3, "Query rewrites in multi-query mode.", ge=1, le=10)
    rounds: int = setting(2, "Retrievals in all in iterative mode.", ge=1, le=5)

    @model_validator(mode="after")
    def _weights_fit_fusion(self) -> RetrievalConfig:
        if self.dense_weight == 0 and self.sparse_weight == 0:
            raise ValueError("dense and sparse weights cannot both be 0")
        if self.fusion == "dbsf" and self.dense_weight != self.sparse_weight:
            raise ValueError("dbsf fusion weighs dense and sparse equally: use rrf to weight them")
        return self


class IngestConfig(_Config):
    """Where files are loaded, chunked and embedded: in this process, or on a Ray cluster."""

    executor: Executor = setting(
        "local",
        "Load, chunk and embed in this process (local) or on a Ray cluster (ray; needs "
        "laterag[ray]); the store is written from this process either way.",
    )
    ray_address: str | None = setting(
        None,
        "Run on a Ray cluster: HOST:PORT of its head, or auto for the one this machine is in "
        "(bare --ray: $RAY_ADDRESS, else a cluster started here, else a new local one).",
        flag="--ray",
        bare="",
        implies={"executor": "ray"},
    )
    ray_cpus: float = setting(
        1.0,
        "CPUs each model actor holds on a Ray cluster without GPUs: one actor per N CPUs, "
        "each running the model on N threads.",
        gt=0,
    )
    ray_actors: int | None = setting(
        None,
        "Model actors on the Ray cluster (default: one per GPU with --device cuda or auto on "
        "a cluster with GPUs, else one per --ray-cpus CPUs).",
        ge=1,
    )


class AppConfig(_Config):
    """What the operator of ``rag ui`` lets the chat app's users do."""

    allow_user_llm_endpoints: bool = setting(
        False,
        "Let app users type an LLM endpoint of their own, called with the key they type; the "
        "server's key only ever goes to the configured endpoint.",
        flag="--allow-user-llm-endpoints/--no-allow-user-llm-endpoints",
    )


class UploadConfig(_Config):
    """What ``rag ui`` and ``rag serve`` accept as uploads."""

    max_mb: int = setting(
        50,
        "Largest upload in MiB: a file dropped in the app, an /ingest request body of the API.",
        flag="--max-upload-mb",
        ge=1,
    )


class RAGConfig(_Config):
    """Everything a ``RAG`` needs."""

    embedder: EmbedderConfig = EmbedderConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    store: StoreConfig = StoreConfig()
    llm: LLMConfig = LLMConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    rerank: RerankConfig = RerankConfig()
    ingest: IngestConfig = IngestConfig()
    app: AppConfig = AppConfig()
    uploads: UploadConfig = UploadConfig()
    top_k: int = setting(5, "How many chunks to retrieve.", flag="-k --top-k", ge=1, le=1000)


SECTIONS: dict[str, type[BaseModel]] = {
    name: info.annotation
    for name, info in RAGConfig.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
}
"""The tables of ``RAGConfig`` (``[store]``, ``[embedder]``, ...) and their models."""
