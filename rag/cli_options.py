"""Option groups several ``rag`` commands share, each turned into one settings object.

A command declares the groups it takes and receives their settings objects; the options
themselves (names, help) are written once here, so they match everywhere. Every command also
takes ``--config FILE``: flags the user gave override the environment, which overrides the
file (default ``./laterag.toml``), which overrides the defaults.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from rag.config import (
    Backend,
    ChunkerName,
    ChunkingMode,
    Fusion,
    Precision,
    Quantization,
    QueryMode,
    RAGConfig,
    RerankKind,
)
from rag.errors import ConfigError
from rag.settings_file import load_config

_DEFAULTS = RAGConfig()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class OptionGroup:
    """Flags overriding one ``section`` of ``RAGConfig``; the command receives it as ``target``.

    ``fields`` maps each option to the section's field it sets (a scalar section: to ``""``).
    Options default to None, meaning "not given": the file, environment or default stands.
    """

    target: str
    section: str
    options: tuple[inspect.Parameter, ...]
    fields: Mapping[str, str]

    def settings(self, base: RAGConfig, values: dict[str, Any]) -> Any:
        """Return ``base``'s section with the given flags laid over it; bad values: ConfigError."""
        updates = {self.fields[name]: v for name, v in values.items() if v is not None}
        data = base.model_dump()
        if isinstance(data[self.section], dict):
            data[self.section] = {**data[self.section], **updates}
        elif updates:
            data[self.section] = updates[""]
        try:
            return getattr(RAGConfig.model_validate(data), self.section)
        except ValidationError as e:
            flags: dict[tuple[int | str, ...], str] = {
                (self.section, f) if f else (self.section,): _flag(o)
                for o, f in self.fields.items()
            }
            problems = "; ".join(
                f"{flags.get(x['loc'], '.'.join(map(str, x['loc'])))}: {x['msg']}"
                for x in e.errors()
            )
            raise ConfigError(problems) from e


def _option(name: str, kind: Any, *flags: str, help: str) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, typer.Option(*flags, help=help)],
    )


def _group(target: str, section: str, *options: tuple[inspect.Parameter, str]) -> OptionGroup:
    return OptionGroup(
        target, section, tuple(o for o, _ in options), {o.name: f for o, f in options}
    )


_QUANTIZATION = (
    _option(
        "quantization",
        Quantization,
        "--quantization",
        help="Compress the vectors of a new collection for search, rescoring with the "
        "full ones: int8 (scalar) or one bit (binary) (default: none).",
    ),
    "quantization",
)

_HNSW_EF = (
    _option(
        "hnsw_ef",
        int,
        "--hnsw-ef",
        help="Candidates the HNSW index keeps per dense search; more find more of the true "
        f"nearest chunks (default: {_DEFAULTS.store.hnsw_ef}; 0: exact search).",
    ),
    "hnsw_ef",
)

STORE = _group(
    "store_config",
    "store",
    (
        _option(
            "store",
            Path,
            "--store",
            help=f"Embedded Qdrant store folder (default: {_DEFAULTS.store.path}).",
        ),
        "path",
    ),
    (_option("qdrant_url", str, "--qdrant-url", help="Use a Qdrant server instead."), "url"),
    (
        _option(
            "qdrant_api_key",
            str,
            "--qdrant-api-key",
            help="Server API key (default: $QDRANT_API_KEY).",
        ),
        "api_key",
    ),
    (
        _option(
            "collection",
            str,
            "--collection",
            help=f"Collection name (default: {_DEFAULTS.store.collection}).",
        ),
        "collection",
    ),
    (
        _option(
            "shards",
            int,
            "--shards",
            help="Shards of a new server collection (default: the server's, one per node).",
        ),
        "shards",
    ),
    (
        _option(
            "replication",
            int,
            "--replication",
            help="Copies of each shard of a new server collection (default: the server's).",
        ),
        "replication",
    ),
    (
        _option(
            "write_consistency",
            int,
            "--write-consistency",
            help="Replicas that must confirm each write to a new server collection.",
        ),
        "write_consistency",
    ),
    _QUANTIZATION,
    _HNSW_EF,
)

MODEL = _group(
    "embedder_config",
    "embedder",
    (
        _option(
            "model",
            str,
            "--model",
            help="Hugging Face encoder name or folder (default: the collection's, else MiniLM).",
        ),
        "model",
    ),
    (
        _option(
            "trust_remote_code",
            bool,
            "--trust-remote-code",
            help="Allow the model folder's own Python code (jina, nomic).",
        ),
        "trust_remote_code",
    ),
    (
        _option(
            "dims",
            int,
            "--dims",
            help="Keep the first N dimensions of each vector, renormalised (Matryoshka); "
            "default: all, or the collection's size.",
        ),
        "dims",
    ),
    (_option("device", str, "--device", help="Torch device: cpu, cuda, cuda:N or mps."), "device"),
    (
        _option(
            "precision",
            Precision,
            "--precision",
            help="Forward-pass precision; bf16 is faster on CPUs with AVX-512 BF16 or AMX.",
        ),
        "precision",
    ),
    (
        _option(
            "backend",
            Backend,
            "--backend",
            help="Run the model in torch, or in ONNX Runtime (cpu; needs laterag[onnx]).",
        ),
        "backend",
    ),
    (_option("threads", int, "--threads", help="CPU threads (default: the cores)."), "threads"),
    (
        _option(
            "embedding_cache_mb",
            int,
            "--embedding-cache-mb",
            help="Cache window vectors in ~/.cache/laterag up to N MB, so unchanged content "
            "is not embedded again (default: 0, off).",
        ),
        "cache_mb",
    ),
)

CHUNKING = _group(
    "chunking_config",
    "chunking",
    (
        _option(
            "chunking",
            ChunkingMode,
            "--chunking",
            help=f"How chunk vectors are made (default: {_DEFAULTS.chunking.mode}).",
        ),
        "mode",
    ),
    (
        _option(
            "late_weight",
            float,
            "--late-weight",
            help="Share of the late vector in a mixed chunk vector "
            f"(default: {_DEFAULTS.chunking.late_weight}; --chunking mixed only).",
        ),
        "late_weight",
    ),
    (
        _option(
            "chunker",
            ChunkerName,
            "--chunker",
            help=f"Where chunk boundaries go (default: {_DEFAULTS.chunking.chunker}).",
        ),
        "chunker",
    ),
    (
        _option(
            "chunk_size",
            int,
            "--chunk-size",
            help=f"Most tokens in a chunk (default: {_DEFAULTS.chunking.chunk_size}).",
        ),
        "chunk_size",
    ),
    (
        _option(
            "overlap",
            int,
            "--overlap",
            help="Macro-window overlap in tokens (default: a quarter window).",
        ),
        "overlap",
    ),
)

LLM = _group(
    "llm_config",
    "llm",
    (
        _option("llm_base_url", str, "--llm-base-url", help="OpenAI-compatible endpoint."),
        "base_url",
    ),
    (_option("llm_model", str, "--llm-model", help="Chat model name."), "model"),
)

RETRIEVAL = _group(
    "retrieval_config",
    "retrieval",
    (
        _option(
            "hybrid",
            bool,
            "--hybrid/--no-hybrid",
            help="Fuse dense search with BM25 keyword search (default: dense only).",
        ),
        "hybrid",
    ),
    (
        _option(
            "fusion",
            Fusion,
            "--fusion",
            help=f"How hybrid merges the two rankings (default: {_DEFAULTS.retrieval.fusion}).",
        ),
        "fusion",
    ),
    (
        _option(
            "dense_weight",
            float,
            "--dense-weight",
            help=f"Weight of the dense ranking, rrf (default: {_DEFAULTS.retrieval.dense_weight}).",
        ),
        "dense_weight",
    ),
    (
        _option(
            "sparse_weight",
            float,
            "--sparse-weight",
            help=f"Weight of the BM25 ranking, rrf (default: {_DEFAULTS.retrieval.sparse_weight}).",
        ),
        "sparse_weight",
    ),
    (
        _option(
            "title_weight",
            float,
            "--title-weight",
            help="Boost hits whose file name matches the query; 0 turns it off "
            f"(default: {_DEFAULTS.retrieval.title_weight}).",
        ),
        "title_weight",
    ),
    (
        _option(
            "per_page",
            int,
            "--per-page",
            help="Most hits from one PDF page; 0: no limit "
            f"(default: {_DEFAULTS.retrieval.per_page}).",
        ),
        "per_page",
    ),
    (
        _option(
            "query_mode",
            QueryMode,
            "--query-mode",
            help="Let the LLM rewrite the query (multi-query), search with a hypothetical "
            "answer (hyde), or ask follow-up queries (iterative) (default: plain).",
        ),
        "query_mode",
    ),
    (
        _option(
            "query_variants",
            int,
            "--query-variants",
            help="Query rewrites in multi-query mode "
            f"(default: {_DEFAULTS.retrieval.query_variants}).",
        ),
        "query_variants",
    ),
    (
        _option(
            "rounds",
            int,
            "--rounds",
            help=f"Retrievals in all in iterative mode (default: {_DEFAULTS.retrieval.rounds}).",
        ),
        "rounds",
    ),
)

EVAL_STORE = _group("eval_store_config", "store", _QUANTIZATION, _HNSW_EF)
"""The store flags of ``rag eval``, whose collection is its own."""

TOP_K = _group(
    "top_k",
    "top_k",
    (
        _option(
            "top_k",
            int,
            "-k",
            "--top-k",
            help=f"How many chunks to retrieve (default: {_DEFAULTS.top_k}).",
        ),
        "",
    ),
)

RERANK = _group(
    "rerank_config",
    "rerank",
    (
        _option(
            "rerank",
            RerankKind,
            "--rerank",
            help=f"Rerank the hits (default: {_DEFAULTS.rerank.kind}).",
        ),
        "kind",
    ),
    (
        _option(
            "rerank_model",
            str,
            "--rerank-model",
            help="Cross-encoder name or folder (with --rerank cross-encoder).",
        ),
        "model",
    ),
    (
        _option(
            "candidates",
            int,
            "--candidates",
            help=f"Hits fetched before reranking (default: {_DEFAULTS.rerank.candidates}).",
        ),
        "candidates",
    ),
)

_CONFIG_FILE = inspect.Parameter(
    "config_file",
    inspect.Parameter.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        Path | None,
        typer.Option(
            "--config", help="Settings file (default: ./laterag.toml when present).", dir_okay=False
        ),
    ],
)


def command(
    app: typer.Typer, *groups: OptionGroup, name: str | None = None
) -> Callable[[Callable[..., Any]], Any]:
    """Register a command that takes ``groups``' options.

    The command receives each group's section under the group's target name when it has such
    a parameter, and, when it has a ``config`` parameter, the whole ``RAGConfig``: the file and
    environment settings with every given flag laid over them.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        signature = inspect.signature(func, eval_str=True)
        injected = {group.target for group in groups} | {"config"}
        own = [p for p in signature.parameters.values() if p.name not in injected]
        parameters = [
            *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own),
            *(option for group in groups for option in group.options),
            _CONFIG_FILE,
        ]

        wants_config = "config" in signature.parameters

        @functools.wraps(func)
        def wrapper(**values: Any) -> Any:
            base = load_config(values.pop(_CONFIG_FILE.name))
            merged = base
            for group in groups:
                own_values = {o.name: values.pop(o.name) for o in group.options}
                section = group.settings(merged, own_values)
                merged = merged.model_copy(update={group.section: section})
                if group.target in signature.parameters:
                    values[group.target] = section
            if wants_config:
                values["config"] = merged
            return func(**values)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return app.command(name)(wrapper)

    return decorate
