"""The one upload policy of the HTTP API and the chat app: names, types, sizes, owners, readers.

Both front ends refuse what they cannot keep as sent (never rewrite a name, so two files never
land on one name) and save an upload as ``STORE/uploads/COLLECTION/OWNER/NAME``: names are
per owner, so one caller's upload never replaces, reveals or reports on another's.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from ingestion.loaders import SUPPORTED_EXTENSIONS, content_mismatch
from rag.access import Access, Principal
from rag.config import StoreConfig
from rag.errors import RagError

MAX_NAME_BYTES = 200
"""The longest upload name in UTF-8 bytes (file systems allow 255; saving adds a suffix)."""

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Characters that reorder the text around them (``x`` U+202E ``gpj.md`` shows as xdm.jpg)."""

_REFUSED_CATEGORIES = {"Cc": "a control character", "Cs": "a lone surrogate (not Unicode)"}
_REFUSED_CATEGORIES |= {"Zl": "a line separator", "Zp": "a paragraph separator"}

ANONYMOUS_OWNER = "anonymous"
"""The owner folder of callers with no user or group (every user folder starts ``user-``)."""

_MAX_OWNER_BYTES = 120


class UploadError(RagError):
    """An upload or an upload operation was refused; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_name(raw: str | None) -> str:
    """Return an upload's name (NFC) if it is a plain, visible, supported file name.

    Raises ``UploadError``: 400 for a missing name, a path, a hidden name, control, separator or
    bidirectional characters, or over ``MAX_NAME_BYTES``; 415 for an unsupported type.
    """
    name = raw or ""
    shown = ascii(name[:80])
    if not name.strip():
        raise UploadError("an uploaded file has no file name")
    for char in name:
        what = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what is None and char in BIDI_CONTROLS:
            what = "a bidirectional control character"
        if what is not None:
            raise UploadError(f"upload name {shown} has {what} (U+{ord(char):04X})")
    name = unicodedata.normalize("NFC", name)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UploadError(f"upload name {shown} is a path: send a plain file name")
    if name.startswith("."):
        raise UploadError(f"upload name {shown} is hidden (starts with '.')")
    size = len(name.encode())
    if size > MAX_NAME_BYTES:
        raise UploadError(
            f"upload name {shown} is {size} bytes in UTF-8; the limit is {MAX_NAME_BYTES}"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        kind = f"'{suffix}'" if suffix else "(no extension)"
        raise UploadError(
            f"upload {shown}: unsupported file type {kind} "
            f"(supported: {', '.join(SUPPORTED_EXTENSIONS)})",
            status=415,
        )
    return name


def check_names(raws: Iterable[str | None]) -> list[str]:
    """``check_name`` each of one request's names; a name sent twice is refused (400)."""
    names = [check_name(raw) for raw in raws]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UploadError(f"upload {ascii(name)} is sent twice: send each name once")
        seen.add(name)
    return names


def check_content(name: str, head: bytes) -> None:
    """Refuse (415) an upload whose first bytes do not fit its type."""
    reason = content_mismatch(name, head)
    if reason:
        raise UploadError(f"upload {ascii(name)}: {reason}", status=415)


def check_size(name: str, size: int, limit: int) -> None:
    """Refuse (413) an upload of ``size`` bytes over ``limit``."""
    if size > limit:
        raise UploadError(
            f"upload {ascii(name)}: {size / 2**20:.1f} MiB is over the {limit / 2**20:g} MiB limit",
            status=413,
        )


def upload_root(store: StoreConfig) -> Path:
    """The folder holding ``store``'s collection's uploads: ``STORE/uploads/COLLECTION``."""
    return store.path / "uploads" / store.collection


def owner_folder(principal: Principal) -> str:
    """The folder name of ``principal``'s uploads: ``user-NAME``, ``groups-A,B`` or anonymous.

    Names are percent-encoded (never a path or hidden); a long one is hashed.
    """
    if principal.user is not None:
        kind, who = "user", principal.user
    elif principal.groups:
        kind, who = "groups", ",".join(principal.groups)
    else:
        return ANONYMOUS_OWNER
    folder = f"{kind}-{quote(who, safe='')}"
    if len(folder) > _MAX_OWNER_BYTES:  # '~' never follows the kind in an encoded name
        folder = f"{kind}~{hashlib.sha256(who.encode()).hexdigest()[:40]}"
    return folder


def upload_access(principal: Principal, requested: Access) -> Access:
    """Who may read ``principal``'s upload restricted to ``requested`` (public stays public).

    A caller may restrict an upload to itself and to groups it is in, never name anyone else
    (403), so no one can plant a restricted document in another user's results; the uploader
    is always among the readers.
    """
    if requested.public:
        return requested
    others = [f"user {u!r}" for u in requested.users if u != principal.user]
    others += [f"group {g!r}" for g in requested.groups if g not in principal.groups]
    if others:
        raise UploadError(
            f"an upload may be restricted only to its uploader and the uploader's groups, "
            f"not {', '.join(others)}",
            status=403,
        )
    users = requested.users + ((principal.user,) if principal.user else ())
    return Access(users=users, groups=requested.groups)
