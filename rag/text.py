"""Checks on text a user hands in (queries, questions, chat messages) before any model sees it."""

from __future__ import annotations

import re

from rag.errors import InputError

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str = "query") -> str:
    r"""Return ``text`` if it is valid Unicode, else raise ``InputError`` naming ``what``.

    A lone surrogate is what a JSON ``\ud800`` escape or an undecodable byte on the command
    line (Python's surrogateescape: ``\xff`` becomes U+DCFF) turns into; no model or store
    can take it. The message shows the character escaped, so it can itself be printed.
    """
    bad = _SURROGATE.search(text)
    if bad is None:
        return text
    code = ord(bad.group())
    if 0xDC80 <= code <= 0xDCFF:
        reason = f"a byte that is not UTF-8 (0x{code - 0xDC00:02x})"
    else:
        reason = f"a lone surrogate (U+{code:04X})"
    raise InputError(f"the {what} holds {reason} at character {bad.start() + 1}: send UTF-8 text")
