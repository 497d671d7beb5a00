"""Plain-text files: the decoded text, with newlines normalised."""

from __future__ import annotations

from pathlib import Path

from ingestion.loaders.common import (
    MAX_TEXT_FILE_BYTES,
    build_document,
    decode_text,
    read_source,
)
from rag.types import Document


class TextLoader:
    """Loads ``.txt`` and ``.text`` files (UTF-8, or UTF-16 with a BOM)."""

    extensions: tuple[str, ...] = (".txt", ".text")

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document without pages or headings."""
        data = read_source(path, MAX_TEXT_FILE_BYTES)
        return build_document(path, data, decode_text(path, data), fmt="text")
