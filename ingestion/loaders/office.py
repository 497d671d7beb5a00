"""Word-processor and e-book files: EPUB, ODT and RTF through unstructured, DOC via LibreOffice.

Headings come from the files' own heading styles or tags, list items become ``- `` lines
and tables one row a line with the header row as every later chunk's context. A legacy
``.doc`` is converted to DOCX by LibreOffice and read by the DOCX loader, so both keep the
same structure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ingestion.loaders.common import read_source
from ingestion.loaders.convert import convert
from ingestion.loaders.docx import DocxLoader
from ingestion.loaders.elements import TextBuilder, add_elements, build
from ingestion.loaders.packages import check_compound, check_package
from ingestion.loaders.partition import partition
from rag.errors import LoaderError
from rag.types import Document


@dataclass(frozen=True)
class _Format:
    kind: str
    module: str
    zipped: bool


_FORMATS = {
    ".epub": _Format("EPUB", "epub", zipped=True),
    ".odt": _Format("ODT", "odt", zipped=True),
    ".rtf": _Format("RTF", "rtf", zipped=False),
}


class PandocLoader:
    """Loads ``.epub``, ``.odt`` and ``.rtf`` files (unstructured converts them with pandoc)."""

    extensions: tuple[str, ...] = tuple(_FORMATS)

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document with its headings, lists and tables."""
        spec = _FORMATS[path.suffix.lower()]
        data = read_source(path)
        if spec.zipped:
            check_package(path, data, spec.kind)
        elif data.lstrip()[:5] != b"{\\rtf":
            raise LoaderError(str(path), "not a readable RTF (no {\\rtf header)")
        elements = partition(path, data, spec.kind, spec.module, f"partition_{spec.module}")
        out = TextBuilder()
        add_elements(out, elements)
        return build(out, path, data, fmt=spec.kind.lower())


class DocLoader:
    """Loads legacy Word ``.doc`` files, converted to DOCX by LibreOffice (if installed)."""

    extensions: tuple[str, ...] = (".doc",)

    def load(self, path: Path) -> Document:
        """Convert ``path`` and read it as a DOCX document."""
        data = read_source(path)
        check_compound(path, data, "DOC")
        document = DocxLoader().parse(path, convert(path, data, "docx"))
        meta = {**document.metadata, "format": "doc"}
        return replace(document, content_hash=hashlib.sha256(data).hexdigest(), metadata=meta)
