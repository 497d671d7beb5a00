"""What ``rag ui`` hands the Streamlit script: the whole merged configuration, secrets apart.

``rag ui`` writes one variable, ``LATERAG_UI_SETTINGS``: JSON of the merged ``RAGConfig``
with every secret left out, plus the upload limit and the app's caller. The secrets (the
Qdrant and LLM keys) travel in the variables the settings layer reads them from
(``QDRANT_API_KEY``, ``OPENAI_API_KEY``), and the app reads them back here, at its edge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr, ValidationError

from rag.access import Principal
from rag.config import SECTIONS, LLMConfig, RAGConfig, StoreConfig, UploadConfig, problems
from rag.config_file import ENV_VARS, load_config
from rag.errors import ConfigError

ENV_SETTINGS = "LATERAG_UI_SETTINGS"
"""The one variable carrying the app's settings (no secrets) from ``rag ui`` to the script."""

SECRETS: dict[tuple[str, str], str] = {
    (section, key): env
    for env, (section, key) in ENV_VARS.items()
    if SECTIONS[section].model_fields[key].annotation == SecretStr | None
}
"""Each secret setting ``(section, key)`` and the variable it travels in."""

DEFAULT_MAX_UPLOAD_MB = UploadConfig().max_mb


@dataclass(frozen=True)
class AppSettings:
    """The app's starting settings; the sidebar may change the collection, k and the LLM.

    ``principal`` is who the app searches for: it lists and answers from only the documents
    that caller may read (anonymous: public documents).
    """

    config: RAGConfig = field(default_factory=RAGConfig)
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    principal: Principal = field(default_factory=Principal)

    @property
    def store(self) -> StoreConfig:
        """The configured store and collection."""
        return self.config.store

    @property
    def llm(self) -> LLMConfig:
        """The operator's LLM endpoint (possibly none)."""
        return self.config.llm

    @property
    def max_upload_bytes(self) -> int:
        """The upload size limit in bytes."""
        return self.max_upload_mb * 1024 * 1024


def public_config(config: RAGConfig) -> dict[str, Any]:
    """``config`` as JSON data without any secret."""
    hidden: dict[str, set[str]] = {}
    for section, key in SECRETS:
        hidden.setdefault(section, set()).add(key)
    return config.model_dump(mode="json", exclude=hidden)


def settings_env(settings: AppSettings) -> dict[str, str]:
    """Return the variables that carry ``settings`` to the script, secrets in their own."""
    public = {
        "config": public_config(settings.config),
        "max_upload_mb": settings.max_upload_mb,
        "user": settings.principal.user,
        "groups": list(settings.principal.groups),
    }
    env = {ENV_SETTINGS: json.dumps(public)}
    for (section, key), name in SECRETS.items():
        secret = getattr(getattr(settings.config, section), key)
        if secret is not None:
            env[name] = secret.get_secret_value()
    return env


def _with_secrets(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    for (section, key), name in SECRETS.items():
        if env.get(name):
            data.setdefault(section, {})[key] = env[name]
    return data


def settings_from_env(env: Mapping[str, str]) -> AppSettings:
    """Read the settings ``settings_env`` wrote.

    Without them (the script run by ``streamlit run`` itself, as in docker compose) the
    configuration is what every command reads: ``./laterag.toml`` and the ``LATERAG_*``
    variables. Raises ``ConfigError`` naming the variable or file on a value that does not fit.
    """
    raw = env.get(ENV_SETTINGS)
    if not raw:
        return AppSettings(load_config(None, env))
    try:
        public = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{ENV_SETTINGS}: not JSON ({e})") from e
    if not isinstance(public, dict):
        raise ConfigError(f"{ENV_SETTINGS}: expected a JSON object")
    mb = public.get("max_upload_mb", DEFAULT_MAX_UPLOAD_MB)
    if not isinstance(mb, int) or isinstance(mb, bool) or mb < 1:
        raise ConfigError(f"{ENV_SETTINGS}: max_upload_mb={mb!r}: give a whole number >= 1")
    try:
        config = RAGConfig.model_validate(_with_secrets(dict(public.get("config") or {}), env))
    except ValidationError as e:
        raise ConfigError(f"{ENV_SETTINGS}: {problems(e.errors())}") from e
    principal = Principal.of(public.get("user"), public.get("groups"))
    return AppSettings(config=config, max_upload_mb=mb, principal=principal)
