"""Command-line options made from the settings models: one flag per setting, never written twice.

Each group names fields of one section of ``RAGConfig``; its flags take their spelling, type,
choices, default and help from those fields (``rag.config.setting``). A command decorated with
``options(...)`` gets them all plus ``--config FILE`` and receives the merged ``RAGConfig`` as
``config``: flags the user gave override the environment, which overrides the file (default
``./laterag.toml``), which overrides the defaults.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import click
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from rag.config import SECTIONS, RAGConfig, field_extra, field_implies, problems
from rag.config_file import load_config
from rag.errors import ConfigError

_DEFAULTS = RAGConfig()


@dataclass(frozen=True)
class OptionGroup:
    """Flags for ``fields`` of one ``section`` of ``RAGConfig`` (``top_k`` is a section alone)."""

    section: str
    fields: tuple[str, ...]

    def info(self, name: str) -> FieldInfo:
        """The settings field behind option ``name``."""
        if self.section in SECTIONS:
            return SECTIONS[self.section].model_fields[name]
        return RAGConfig.model_fields[self.section]

    def key(self, name: str) -> tuple[str, ...]:
        """Where ``name`` sits in ``RAGConfig``'s data."""
        return (self.section, name) if self.section in SECTIONS else (self.section,)

    def param(self, name: str) -> str:
        """The Python name of option ``name`` (unique across groups)."""
        return "_".join(self.key(name))

    def flags(self, name: str) -> list[str]:
        """The option's spellings: the field's ``flag``, else ``--field-name``."""
        flag = field_extra(self.info(name), "flag")
        return flag.split() if flag else ["--" + name.replace("_", "-")]


def group(section: str, *fields: str) -> OptionGroup:
    """An option group; refuses a field the section does not have."""
    model = SECTIONS.get(section)
    for name in fields:
        if model is not None and name not in model.model_fields:
            raise ValueError(f"{section} has no setting {name!r}")
    return OptionGroup(section, fields or (section,))


STORE = group(
    "store",
    "path",
    "url",
    "api_key",
    "collection",
    "shards",
    "replication",
    "write_consistency",
    "quantization",
    "hnsw_ef",
)
MODEL = group(
    "embedder",
    "model",
    "trust_remote_code",
    "dims",
    "device",
    "precision",
    "backend",
    "threads",
    "cache_mb",
)
CHUNKING = group("chunking", "mode", "late_weight", "chunker", "chunk_size", "overlap", "context")
LLM = group("llm", "base_url", "model", "timeout")
RETRIEVAL = group(
    "retrieval",
    "hybrid",
    "fusion",
    "dense_weight",
    "sparse_weight",
    "title_weight",
    "exact_weight",
    "per_page",
    "query_mode",
    "query_variants",
    "rounds",
)
RERANK = group("rerank", "kind", "model", "candidates")
INGEST = group("ingest", "ray_address", "ray_cpus", "ray_actors")
APP = group("app", "allow_user_llm_endpoints")
UPLOADS = group("uploads", "max_mb")
TOP_K = group("top_k")
EVAL_STORE = group("store", "quantization", "hnsw_ef")
"""The store flags of ``rag eval``, whose collection is its own."""


def _plain(annotation: Any) -> Any:
    """``annotation`` without ``None`` in a union."""
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _click_type(annotation: Any) -> Any:
    kind = _plain(annotation)
    if get_origin(kind) is Literal:
        return click.Choice([str(choice) for choice in get_args(kind)])
    if kind is Path:
        return click.Path(path_type=Path)
    return kind if kind in (int, float) else str


def _help(info: FieldInfo, default: Any) -> str:
    text = (info.description or "").removesuffix(".")
    notes = [] if default is None or isinstance(default, bool) else [f"default: {default}"]
    env = field_extra(info, "env")
    if env:
        notes.append(f"or ${env}")
    return f"{text} ({'; '.join(notes)})." if notes else f"{text}."


def _default(grp: OptionGroup, name: str) -> Any:
    data: Any = _DEFAULTS
    for part in grp.key(name):
        data = getattr(data, part)
    return data


def _option(grp: OptionGroup, name: str) -> click.Option:
    info = grp.info(name)
    flags = grp.flags(name)
    help_text = _help(info, _default(grp, name))
    if _plain(info.annotation) is bool:
        return click.Option([*flags, grp.param(name)], is_flag=True, default=None, help=help_text)
    bare = field_extra(info, "bare")
    if bare is not None:  # --flag alone means ``bare``; --flag=VALUE gives a value
        return click.Option(
            [*flags, grp.param(name)],
            type=str,
            is_flag=False,
            flag_value=bare,
            default=None,
            metavar="[VALUE]",
            help=help_text,
        )
    return click.Option(
        [*flags, grp.param(name)], type=_click_type(info.annotation), default=None, help=help_text
    )


_CONFIG = click.Option(
    ["--config", "config_file"],
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (default: ./laterag.toml when present).",
)


def merged_config(base: RAGConfig, groups: tuple[OptionGroup, ...], given: dict[str, Any]) -> Any:
    """``base`` with the flags given (not None) laid over it; a bad value is a ``ConfigError``."""
    data = base.model_dump()
    labels: dict[tuple[Any, ...], str] = {}
    for grp in groups:
        for name in grp.fields:
            value = given.get(grp.param(name))
            if value is None:
                continue
            key = grp.key(name)
            target = data
            for part in key[:-1]:
                target = target[part]
            target[key[-1]] = value
            target.update(field_implies(grp.info(name)))
            labels[key] = grp.flags(name)[-1]
    try:
        return RAGConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(problems(e.errors(), labels)) from e


def options(*groups: OptionGroup) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a click command the flags of ``groups`` and ``--config``; it receives ``config``.

    The command's own parameters are unchanged; the merged ``RAGConfig`` arrives as ``config``.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(**values: Any) -> Any:
            base = load_config(values.pop(_CONFIG.name))
            given = {
                grp.param(name): values.pop(grp.param(name))
                for grp in groups
                for name in grp.fields
                if grp.param(name) in values
            }
            return func(config=merged_config(base, groups, given), **values)

        params = [_option(grp, name) for grp in groups for name in grp.fields] + [_CONFIG]
        attached: list[click.Parameter] = getattr(func, "__click_params__", [])
        wrapper.__click_params__ = list(reversed(params)) + attached  # type: ignore[attr-defined]
        return wrapper

    return decorate
