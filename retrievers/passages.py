"""Retrieved passages shown to an LLM as delimited data, and the model's replies cleaned up.

Shared by the LLM reranker and the query modes, which both show the model what was found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Hit

PASSAGE_CHARS = 500
"""Each passage is cut to about this many characters in the prompt."""

PASSAGES_OPEN = "<passages>"
PASSAGES_CLOSE = "</passages>"

_TAG = re.compile(r"<(/?)(passages)>", re.IGNORECASE)


def clip(text: str, limit: int = PASSAGE_CHARS) -> str:
    """Return ``text`` on one line, cut at a word boundary near ``limit`` characters."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] or line[:limit]
    return cut + " …"


def passages_block(hits: Sequence[Hit]) -> str:
    """Return ``hits`` as numbered one-line passages inside a <passages> block.

    Tags in the passages that could close the block early are escaped.
    """
    lines = [PASSAGES_OPEN]
    for number, hit in enumerate(hits, start=1):
        text = _TAG.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}&gt;", clip(hit.chunk.text))
        lines.append(f"[{number}] {text}")
    lines.append(PASSAGES_CLOSE)
    return "\n".join(lines)


_THINKING = re.compile(r"<think>.*?(</think>|$)", re.IGNORECASE | re.DOTALL)


def strip_thinking(reply: str) -> str:
    """Return ``reply`` without the <think> blocks some reasoning models put first."""
    return _THINKING.sub(" ", reply)
