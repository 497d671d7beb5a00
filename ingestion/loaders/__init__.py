"""Document loaders: one per file format, and ``load_document`` to pick the right one."""

from __future__ import annotations

from pathlib import Path

from ingestion.loaders.docx import DocxLoader
from ingestion.loaders.html import HtmlLoader
from ingestion.loaders.markdown import MarkdownLoader
from ingestion.loaders.pdf import PdfLoader
from ingestion.loaders.text import TextLoader
from rag.errors import LoaderError
from rag.protocols import Loader
from rag.types import Document

LOADERS: tuple[Loader, ...] = (
    TextLoader(),
    MarkdownLoader(),
    HtmlLoader(),
    PdfLoader(),
    DocxLoader(),
)
"""One instance of every built-in loader."""

_BY_EXTENSION: dict[str, Loader] = {ext: loader for loader in LOADERS for ext in loader.extensions}

SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(_BY_EXTENSION))
"""Lower-case file suffixes ``load_document`` can read, e.g. ``.pdf``."""


def loader_for(path: Path) -> Loader:
    """Return the loader for ``path``'s suffix (any case); raises ``LoaderError`` if none."""
    suffix = path.suffix.lower()
    loader = _BY_EXTENSION.get(suffix)
    if loader is None:
        kind = f"'{suffix}'" if suffix else "(no extension)"
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        raise LoaderError(str(path), f"unsupported file type {kind} (supported: {supported})")
    return loader


def load_document(path: Path) -> Document:
    """Read ``path`` into a ``Document`` with the loader for its suffix."""
    return loader_for(path).load(path)


__all__ = [
    "LOADERS",
    "SUPPORTED_EXTENSIONS",
    "DocxLoader",
    "HtmlLoader",
    "MarkdownLoader",
    "PdfLoader",
    "TextLoader",
    "load_document",
    "loader_for",
]
