"""Option groups several ``rag`` commands share, each turned into one settings object.

A command declares the groups it takes and receives their settings objects; the options
themselves (names, help, defaults) are written once here, so they match everywhere.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import SecretStr, ValidationError

from rag.config import (
    DEFAULT_COLLECTION,
    DEFAULT_STORE_DIR,
    ChunkingConfig,
    EmbedderConfig,
    LLMConfig,
    StoreConfig,
)
from rag.errors import ConfigError

_CHUNKING = ChunkingConfig()


@dataclass(frozen=True)
class OptionGroup:
    """Options gathered into the settings object a command receives as ``target``."""

    target: str
    options: tuple[inspect.Parameter, ...]
    build: Callable[..., Any]

    def settings(self, values: dict[str, Any]) -> Any:
        """Build the settings object, turning invalid values into a ``ConfigError``."""
        try:
            return self.build(**values)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            raise ConfigError(problems) from e


def _option(name: str, kind: Any, default: Any, *flags: str, help: str) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[kind, typer.Option(*flags, help=help)],
    )


STORE = OptionGroup(
    "store_config",
    (
        _option("store", Path, DEFAULT_STORE_DIR, "--store", help="Embedded Qdrant store folder."),
        _option(
            "qdrant_url", str | None, None, "--qdrant-url", help="Use a Qdrant server instead."
        ),
        inspect.Parameter(
            "qdrant_api_key",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option("--qdrant-api-key", envvar="QDRANT_API_KEY", help="Server API key."),
            ],
        ),
        _option("collection", str, DEFAULT_COLLECTION, "--collection", help="Collection name."),
    ),
    lambda store, qdrant_url, qdrant_api_key, collection: StoreConfig(
        path=store,
        url=qdrant_url,
        api_key=SecretStr(qdrant_api_key) if qdrant_api_key else None,
        collection=collection,
    ),
)

MODEL = OptionGroup(
    "embedder_config",
    (
        _option(
            "model",
            str | None,
            None,
            "--model",
            help="Hugging Face encoder name or folder (default: the collection's, else MiniLM).",
        ),
        _option(
            "trust_remote_code",
            bool,
            False,
            "--trust-remote-code",
            help="Allow the model folder's own Python code (jina, nomic).",
        ),
    ),
    lambda model, trust_remote_code: EmbedderConfig(
        model=model, trust_remote_code=trust_remote_code
    ),
)

CHUNKING = OptionGroup(
    "chunking_config",
    (
        _option(
            "chunking",
            Literal["late", "naive"],
            _CHUNKING.mode,
            "--chunking",
            help="How chunk vectors are made.",
        ),
        _option(
            "chunker",
            Literal["tokens", "sentences", "structure"],
            _CHUNKING.chunker,
            "--chunker",
            help="Where chunk boundaries go.",
        ),
        _option(
            "chunk_size", int, _CHUNKING.chunk_size, "--chunk-size", help="Most tokens in a chunk."
        ),
        _option(
            "overlap",
            int | None,
            None,
            "--overlap",
            help="Macro-window overlap in tokens (default: a quarter window).",
        ),
    ),
    lambda chunking, chunker, chunk_size, overlap: ChunkingConfig(
        mode=chunking, chunker=chunker, chunk_size=chunk_size, overlap=overlap
    ),
)

LLM = OptionGroup(
    "llm_config",
    (
        _option(
            "llm_base_url", str | None, None, "--llm-base-url", help="OpenAI-compatible endpoint."
        ),
        _option("llm_model", str | None, None, "--llm-model", help="Chat model name."),
    ),
    lambda llm_base_url, llm_model: LLMConfig(base_url=llm_base_url, model=llm_model),
)


def command(app: typer.Typer, *groups: OptionGroup) -> Callable[[Callable[..., Any]], Any]:
    """Register a command that takes ``groups``' options and receives their settings."""

    def decorate(func: Callable[..., Any]) -> Any:
        signature = inspect.signature(func, eval_str=True)
        targets = {group.target for group in groups}
        own = [p for p in signature.parameters.values() if p.name not in targets]
        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + [
            option for group in groups for option in group.options
        ]

        @functools.wraps(func)
        def wrapper(**values: Any) -> Any:
            for group in groups:
                own_values = {o.name: values.pop(o.name) for o in group.options}
                values[group.target] = group.settings(own_values)
            return func(**values)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return app.command()(wrapper)

    return decorate
