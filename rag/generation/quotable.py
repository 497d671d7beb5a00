"""The sentences of a passage fit to quote in an answer: prose, never headings or fragments."""

from __future__ import annotations

import re

from ingestion.chunkers.sentences import sentence_spans
from rag.types import Span

_LINE = re.compile(r"[^\n]+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_UNDERLINE = re.compile(r"^\s{0,3}(=+|-{2,})\s*$")
_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+•]\s|\d+[.)]\s|\|)")
_END = re.compile(r"""[.!?…]["'”’)\]]*$""")
_WORD = re.compile(r"[^\W_]+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]*)>")
_MIN_WORDS = 3
_FIGURE = re.compile(r"^[($€£¥\-–]*\s*\d|^[$€£¥]\s*$")
_FIELD = re.compile(r"^[^\W\d][\w -]{0,30}:\s+\S")
_TITLE_WORDS = 4
_WRAP_WIDTH = 50
"""A line this long that stops mid-sentence was wrapped, whatever the next one starts with."""


def _heading(line: str, following: str) -> bool:
    return bool(_HEADING.match(line) or _UNDERLINE.match(line) or _UNDERLINE.match(following))


def _continues(previous: str, line: str) -> bool:
    """Whether ``line`` carries on the sentence ``previous`` broke off (wrapped prose)."""
    previous, line = previous.strip(), line.strip()
    if _END.search(previous) or _BLOCK_START.match(line) or _HEADING.match(previous):
        return False
    if line[:1].islower() or line[:1] in "[!" or _FIGURE.match(line):
        return True  # wrapped prose, a link or image inside it, or the figures of a table row
    return len(previous) >= _WRAP_WIDTH


def prose_blocks(text: str) -> list[Span]:
    """Return the spans of ``text``'s blocks of prose: wrapped lines joined, headings left out."""
    lines = list(_LINE.finditer(text))
    blocks: list[Span] = []
    last: str | None = None  # the previous line, when it is in the last block
    for i, line in enumerate(lines):
        body = line.group()
        following = lines[i + 1].group() if i + 1 < len(lines) else ""
        if not body.strip() or _UNDERLINE.match(body) or _heading(body, following):
            last = None
            continue
        next_to = last is not None and text[blocks[-1][1] : line.start()].count("\n") == 1
        if next_to and last is not None and _continues(last, body):
            blocks[-1] = (blocks[-1][0], line.end())
        else:
            blocks.append((line.start(), line.end()))
        last = body
    return blocks


def plain(text: str) -> str:
    """Return ``text`` on one line with markdown images dropped and links reduced to their text."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    return " ".join(text.split())


def _fragment(sentence: str, first: bool, last: bool) -> bool:
    """Whether ``sentence`` is not a whole sentence one can quote."""
    if len(_WORD.findall(sentence)) < _MIN_WORDS:
        return True
    if first and sentence[:1].islower():
        return True  # the passage starts inside a sentence
    if _END.search(sentence):
        return False
    # Unpunctuated: a table row (it holds figures) or a bullet may be quoted, a title or a
    # tail the passage cuts off after a full stop not.
    if last:
        return True
    return not any(c.isdigit() for c in sentence) and _title(sentence)


def _title(line: str) -> bool:
    """Whether an unpunctuated line reads as a title: short, or its long words capitalised."""
    if _FIELD.match(line):
        return False  # "Subject: …", "Total: …": a labelled value, not a title
    words = _WORD.findall(line)
    if len(words) <= _TITLE_WORDS:
        return True
    long = [w for w in words if len(w) > 3]
    return 2 * sum(w[0].isupper() for w in long) >= len(long)


def quotable_sentences(text: str) -> list[str]:
    """Return the sentences of ``text`` fit to quote, as plain text, in reading order.

    Headings (markdown ``#`` lines and underlined titles), unpunctuated title lines without
    figures (short or capitalised: section titles of HTML or PDF text), pieces of fewer than
    three words, a sentence the passage starts or ends inside of are left out; a line break
    inside prose does not end a sentence; markdown links become their text and images are dropped.
    """
    spans = prose_blocks(text)
    top = len(text) - len(text.lstrip())
    bottom = len(text.rstrip())
    found: list[str] = []
    for b, (start, end) in enumerate(spans):
        block = plain(text[start:end])
        pieces = [block[x:y] for x, y in sentence_spans(block, line_breaks=False)]
        for p, sentence in enumerate(pieces):
            first = b == 0 and p == 0 and start == top
            last = b == len(spans) - 1 and 0 < p == len(pieces) - 1 and end == bottom
            if not _fragment(sentence, first, last):
                found.append(sentence)
    return found
