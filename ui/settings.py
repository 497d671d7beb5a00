"""What ``rag ui`` hands the Streamlit script: store, LLM defaults and upload limit, via env."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr, ValidationError

from rag.access import Principal
from rag.config import DEFAULT_COLLECTION, DEFAULT_STORE_DIR, LLMConfig, StoreConfig
from rag.errors import ConfigError

ENV_STORE = "LATERAG_UI_STORE"
ENV_QDRANT_URL = "LATERAG_UI_QDRANT_URL"
ENV_COLLECTION = "LATERAG_UI_COLLECTION"
ENV_LLM_BASE_URL = "LATERAG_UI_LLM_BASE_URL"
ENV_LLM_MODEL = "LATERAG_UI_LLM_MODEL"
ENV_LLM_TIMEOUT = "LATERAG_UI_LLM_TIMEOUT"
ENV_MAX_UPLOAD_MB = "LATERAG_UI_MAX_UPLOAD_MB"
ENV_USER = "LATERAG_UI_USER"
ENV_GROUPS = "LATERAG_UI_GROUPS"
"""The app's one caller: a user name and comma-separated groups (unset: anonymous)."""
ENV_QDRANT_API_KEY = "QDRANT_API_KEY"
"""The server key is read from the same variable the CLI reads; it never goes on argv."""

DEFAULT_MAX_UPLOAD_MB = 50


@dataclass(frozen=True)
class AppSettings:
    """The app's starting settings; the sidebar may change the collection and the LLM.

    ``principal`` is who the app searches for: it lists and answers from only the documents
    that caller may read (anonymous: public documents).
    """

    store: StoreConfig = field(default_factory=StoreConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    principal: Principal = field(default_factory=Principal)

    @property
    def max_upload_bytes(self) -> int:
        """The upload size limit in bytes."""
        return self.max_upload_mb * 1024 * 1024


def settings_env(settings: AppSettings) -> dict[str, str]:
    """Return the environment variables that carry ``settings`` to the script (no secrets)."""
    env = {
        ENV_STORE: str(settings.store.path),
        ENV_COLLECTION: settings.store.collection,
        ENV_MAX_UPLOAD_MB: str(settings.max_upload_mb),
        ENV_LLM_TIMEOUT: repr(settings.llm.timeout),
    }
    optional = {
        ENV_QDRANT_URL: settings.store.url,
        ENV_LLM_BASE_URL: settings.llm.base_url,
        ENV_LLM_MODEL: settings.llm.model,
        ENV_USER: settings.principal.user,
        ENV_GROUPS: ",".join(settings.principal.groups),
    }
    env.update({name: value for name, value in optional.items() if value})
    return env


def settings_from_env(env: Mapping[str, str]) -> AppSettings:
    """Read the settings ``settings_env`` wrote; raises ``ConfigError`` on a bad value."""
    raw_mb = env.get(ENV_MAX_UPLOAD_MB) or str(DEFAULT_MAX_UPLOAD_MB)
    if not raw_mb.isdigit() or int(raw_mb) < 1:
        raise ConfigError(f"{ENV_MAX_UPLOAD_MB}={raw_mb!r}: give a whole number of megabytes >= 1")
    raw_timeout = env.get(ENV_LLM_TIMEOUT) or str(LLMConfig().timeout)
    try:
        timeout = float(raw_timeout)
    except ValueError as e:
        raise ConfigError(f"{ENV_LLM_TIMEOUT}={raw_timeout!r}: give a number of seconds") from e
    api_key = env.get(ENV_QDRANT_API_KEY)
    try:
        store = StoreConfig(
            path=Path(env.get(ENV_STORE) or DEFAULT_STORE_DIR),
            url=env.get(ENV_QDRANT_URL) or None,
            api_key=SecretStr(api_key) if api_key else None,
            collection=env.get(ENV_COLLECTION) or DEFAULT_COLLECTION,
        )
        llm = LLMConfig(
            base_url=env.get(ENV_LLM_BASE_URL) or None,
            model=env.get(ENV_LLM_MODEL) or None,
            timeout=timeout,
        )
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise ConfigError(problems) from e
    groups = [g for g in (env.get(ENV_GROUPS) or "").split(",") if g.strip()]
    principal = Principal.of(env.get(ENV_USER) or None, groups)
    return AppSettings(store=store, llm=llm, max_upload_mb=int(raw_mb), principal=principal)
