"""Secrets kept out of what is shown: a URL's user part and query values, and known keys."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"


def masked_url(url: str) -> str:
    """``url`` as it may be shown: no user part, and every query value replaced by ``***``.

    A key can sit in either (``https://key@host``, ``...?api-key=...``); the path is kept.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(name, MASK) for name, _ in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that ``masked_url`` hides (the user part, query values), raw."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    found = [user, *user.split(":", 1)] if user else []
    raw = [piece.split("=", 1)[1] for piece in parts.query.split("&") if "=" in piece]
    decoded = [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    return [s for s in dict.fromkeys([*found, *raw, *decoded]) if len(s) >= 4]


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` (longest first) replaced by ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text
