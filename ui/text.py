"""Small text helpers for showing user-provided strings in Streamlit markdown."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$~])")


def md_escape(text: str) -> str:
    """Return ``text`` with every Markdown special character escaped, to show it literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def plural(count: int, word: str) -> str:
    """Return ``1 chunk`` or ``3 chunks``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
