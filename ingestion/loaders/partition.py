"""unstructured's partitioners, imported on first use and made to run offline.

Importing unstructured pings its vendor's analytics host (and runs ``nvidia-smi``) unless an
opt-out variable is set, prints a commercial notice to stdout, and its text classifier
downloads a spaCy model the first time it runs. Before the first import this module sets the
opt-outs; after it, the classifier gets a spaCy pipeline built in memory (a tokenizer and the
rule-based sentence splitter, no trained model), and the model download is replaced by an
error. Element types that come from a file's structure (slide titles, ``<h1>``, lists,
tables) are unaffected; only unstructured's guess of "title or narrative" for a plain line
loses its part-of-speech test, and LateRAG takes headings from structure alone.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.errors import LoaderError

logger = logging.getLogger(__name__)

UNSTRUCTURED_VERSION = "0.27.35"
"""The release these hooks were written and tested for (pinned in pyproject.toml)."""

OFFLINE_ENVIRONMENT = {
    "SCARF_NO_ANALYTICS": "true",  # unstructured's import-time and per-call analytics ping
    "DO_NOT_TRACK": "true",  # the same opt-out, by the cross-tool convention it also reads
    "UNSTRUCTURED_DISABLE_NOTICE": "1",  # the commercial notice it writes to stdout
}
"""Set in the process before unstructured is first imported."""

INSTALL_HINT = (
    "the office formats need unstructured: pip install "
    f"'unstructured[csv,doc,epub,odt,ppt,pptx,rtf,tsv,xlsx]=={UNSTRUCTURED_VERSION}'"
)

_lock = threading.Lock()
_ready = False


class ModelDownloadRefused(RuntimeError):
    """unstructured tried to download a spaCy model, which LateRAG never allows."""


def _refuse_download() -> None:
    raise ModelDownloadRefused("LateRAG reads office files offline: no spaCy model is downloaded")


def _offline_pipeline() -> Any:
    """A spaCy English tokenizer with rule-based sentence boundaries, built without a model."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _prepare() -> None:
    """Set the opt-outs, import unstructured once and hook its tokenizer; thread-safe."""
    global _ready
    with _lock:
        if _ready:
            return
        os.environ.update(OFFLINE_ENVIRONMENT)
        try:
            from unstructured.nlp import tokenize
        except ImportError as e:
            raise ImportError(INSTALL_HINT) from e
        from unstructured.__version__ import __version__ as version

        if version != UNSTRUCTURED_VERSION:
            logger.warning(
                "unstructured %s is installed; LateRAG was tested with %s",
                version,
                UNSTRUCTURED_VERSION,
            )
        pipeline = _offline_pipeline()
        hooks = vars(tokenize)  # private names of the pinned release, checked by the tests
        hooks["_get_nlp"] = lambda: pipeline  # used by word, sentence and POS tokenizing
        hooks["_install_spacy_model"] = _refuse_download
        _ready = True


def partitioner(module: str, name: str) -> Callable[..., list[Any]]:
    """Return ``unstructured.partition.<module>.<name>``, importing unstructured offline first."""
    _prepare()
    try:
        found: Callable[..., list[Any]] = getattr(
            importlib.import_module(f"unstructured.partition.{module}"), name
        )
    except ImportError as e:  # a per-format extra (python-pptx, openpyxl, pandoc) is missing
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    return found


def partition(
    path: Path, data: bytes, kind: str, module: str, name: str, **options: Any
) -> list[Any]:
    """Run ``unstructured.partition.<module>.<name>`` on the bytes of ``path``.

    Any failure is a ``LoaderError`` naming the file: a missing extra gives the install hint,
    a parser's own exception "not a readable KIND (its words)".
    """
    try:
        run = partitioner(module, name)
    except ImportError as e:
        raise LoaderError(str(path), str(e)) from e
    try:
        return run(file=io.BytesIO(data), metadata_filename=path.name, **options)
    except ModelDownloadRefused as e:
        raise LoaderError(str(path), str(e)) from e
    except Exception as e:  # unstructured and its parsers raise many types; all mean "unreadable"
        logger.debug("%s: %s failed", path, name, exc_info=True)
        detail = " ".join(str(e).split())[:100] or type(e).__name__
        raise LoaderError(str(path), f"not a readable {kind} ({detail})") from e
