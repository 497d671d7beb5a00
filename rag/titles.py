"""A document's title as words: what the title boost and the window context read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_SEPARATORS = re.compile(r"[\s_\-.]+")
_WORD = re.compile(r"[^\W\d_]{2,}")


def file_title(source: str) -> str:
    """The file name of ``source`` without its extension, separators read as spaces."""
    name = PurePath(source.replace("\\", "/")).name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return _SEPARATORS.sub(" ", stem).strip() or name


def document_title(source: str, metadata: Mapping[str, Any]) -> str:
    """The file name read as words, then the loader's title when it says more than that.

    A title is kept only when it holds two words of letters: PDF producers often fill it
    with an accession number or the file name.
    """
    title = file_title(source)
    found = str(metadata.get("title") or "").strip()
    if len(_WORD.findall(found)) >= 2 and found.lower() != title.lower():
        title = f"{title}: {found}"
    return title
