"""Document loaders: one per file format, and ``load_document`` to pick the right one."""

from __future__ import annotations

import logging
from pathlib import Path

from ingestion.loaders.content import SNIFF_BYTES, content_mismatch
from ingestion.loaders.docx import DocxLoader
from ingestion.loaders.html import HtmlLoader
from ingestion.loaders.mail import MailLoader
from ingestion.loaders.markdown import MarkdownLoader
from ingestion.loaders.office import DocLoader, PandocLoader
from ingestion.loaders.pdf import PdfLoader
from ingestion.loaders.sheets import DelimitedLoader, XlsxLoader
from ingestion.loaders.slides import PptLoader, PptxLoader
from ingestion.loaders.text import TextLoader
from rag.errors import LoaderError
from rag.protocols import Loader
from rag.types import Document

logger = logging.getLogger(__name__)

LOADERS: tuple[Loader, ...] = (
    TextLoader(),
    MarkdownLoader(),
    HtmlLoader(),
    PdfLoader(),
    DocxLoader(),
    DocLoader(),
    PptxLoader(),
    PptLoader(),
    XlsxLoader(),
    DelimitedLoader(),
    PandocLoader(),
    MailLoader(lambda path: load_document(path), lambda: SUPPORTED_EXTENSIONS),
)
"""One instance of every built-in loader; the office formats import unstructured on first use."""

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
    """Read ``path`` into a ``Document`` with the loader for its suffix.

    Every failure is a one-line ``LoaderError`` naming the file: a parser's own exception
    (a malformed file its library chokes on) is reported too, never raised as is.
    """
    loader = loader_for(path)
    try:
        return loader.load(path)
    except LoaderError:
        raise
    except Exception as e:  # the batch goes on; the traceback is logged at debug level
        logger.debug("%s: %s failed", path, type(loader).__name__, exc_info=True)
        detail = " ".join(str(e).split())[:120]
        reason = f"{type(e).__name__}: {detail}" if detail else type(e).__name__
        raise LoaderError(str(path), f"could not be read ({reason})") from e


__all__ = [
    "LOADERS",
    "SNIFF_BYTES",
    "SUPPORTED_EXTENSIONS",
    "DelimitedLoader",
    "DocLoader",
    "DocxLoader",
    "HtmlLoader",
    "MailLoader",
    "MarkdownLoader",
    "PandocLoader",
    "PdfLoader",
    "PptLoader",
    "PptxLoader",
    "TextLoader",
    "XlsxLoader",
    "content_mismatch",
    "load_document",
    "loader_for",
]
