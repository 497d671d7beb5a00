"""Configuration from a ``laterag.toml`` file and ``LATERAG_*`` variables, read only at the edges.

Precedence, highest first: command-line flags (applied by the CLI), environment variables,
the file, the defaults of ``RAGConfig``. Relative paths in a file are relative to its folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rag.config import SECTIONS, RAGConfig, field_extra, problems
from rag.errors import ConfigError

CONFIG_FILE_NAME = "laterag.toml"
"""The file name looked for in the working folder when no file is named."""

ENV_VARS: dict[str, tuple[str, str]] = {
    env: (section, key)
    for section, model in SECTIONS.items()
    for key, info in model.model_fields.items()
    if (env := field_extra(info, "env"))
}
"""The environment variables read, each with the ``(section, key)`` it sets (``env`` in config)."""


def find_config_file(folder: Path | None = None) -> Path | None:
    """Return ``laterag.toml`` in ``folder`` (default: the working folder) if it exists."""
    candidate = (folder or Path.cwd()) / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def _check_keys(data: Mapping[str, Any], path: Path) -> None:
    """Raise ``ConfigError`` for the first key of ``data`` that ``RAGConfig`` does not have."""
    for key, value in data.items():
        if key not in RAGConfig.model_fields:
            valid = ", ".join(f"[{k}]" if k in SECTIONS else k for k in RAGConfig.model_fields)
            raise ConfigError(f"{path}: unknown key {key!r} (valid: {valid})")
        section = SECTIONS.get(key)
        if section is None:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {key!r} must be a [{key}] table")
        for name in value:
            if name not in section.model_fields:
                valid = ", ".join(section.model_fields)
                raise ConfigError(f"{path}: unknown key '{key}.{name}' (valid: {valid})")


def read_config_file(path: Path) -> dict[str, Any]:
    """Return the settings of a TOML file as nested dicts, checked for unknown keys."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    _check_keys(data, path)
    store = data.get("store")
    if isinstance(store, dict) and isinstance(store.get("path"), str):
        store["path"] = str(path.parent / Path(store["path"]).expanduser())
    return data


def _merge(base: dict[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None = None, env: Mapping[str, str] = os.environ) -> RAGConfig:
    """Return the settings of ``path`` (default: ``./laterag.toml`` if any) under ``env``.

    Raises ``ConfigError`` naming the file or variable for an unknown key or a bad value.
    """
    path = path or find_config_file()
    data: dict[str, Any] = read_config_file(path) if path is not None else {}
    try:
        base = RAGConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path}: {problems(e.errors())}") from e
    updates: dict[str, dict[str, Any]] = {}
    used = []
    for name, (section, key) in ENV_VARS.items():
        value = env.get(name)
        if value:
            updates.setdefault(section, {})[key] = value
            used.append(name)
    if not updates:
        return base
    try:
        return RAGConfig.model_validate(_merge(base.model_dump(), updates))
    except ValidationError as e:
        where = f"{path} with " if path is not None else ""
        raise ConfigError(f"{where}environment {', '.join(used)}: {problems(e.errors())}") from e
