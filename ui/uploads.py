"""Uploaded files: safe names, the size limit, and saving them beside the store for ingesting."""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from collections.abc import Sequence
from pathlib import Path

from ingestion.loaders import SNIFF_BYTES, SUPPORTED_EXTENSIONS, content_mismatch
from ingestion.pipeline import FileResult
from rag.config import StoreConfig
from rag.protocols import Upload

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    """Return ``name`` as a plain file name: no folders, no leading dots, safe characters only."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"_+", "_", stem).strip(" ._") or "upload"
    suffix = f".{suffix.lower()[:15]}" if suffix else ""
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix


def upload_folder(store: StoreConfig) -> Path:
    """The folder uploads to ``store``'s collection are saved in: ``<store>/uploads/<name>``."""
    return store.path / "uploads" / store.collection


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    taken.add(candidate)
    return candidate


def save_uploads(
    files: Sequence[Upload], folder: Path, max_bytes: int
) -> tuple[list[Path], list[FileResult]]:
    """Save the acceptable files under ``folder``; return their paths and a failure per refusal.

    A file of an unsupported type, over ``max_bytes`` or whose content does not fit its type is
    refused with a reason naming it. Saving a name again replaces the earlier file, so
    re-uploading updates the document.
    """
    saved: list[Path] = []
    refused: list[FileResult] = []
    taken: set[str] = set()
    for upload in files:
        name = _unique(safe_filename(upload.name), taken)
        suffix = Path(name).suffix
        if suffix not in SUPPORTED_EXTENSIONS:
            kind = f"'{suffix}'" if suffix else "(no extension)"
            reason = f"unsupported file type {kind} (supported: {', '.join(SUPPORTED_EXTENSIONS)})"
            refused.append(FileResult(upload.name, "failed", error=f"{upload.name}: {reason}"))
            continue
        if upload.size > max_bytes:
            limit = max_bytes / 1024 / 1024
            reason = f"{upload.size / 1024 / 1024:.1f} MB is over the {limit:g} MB limit"
            refused.append(FileResult(upload.name, "failed", error=f"{upload.name}: {reason}"))
            continue
        data = upload.getvalue()
        mismatch = content_mismatch(name, data[:SNIFF_BYTES])
        if mismatch:
            refused.append(FileResult(upload.name, "failed", error=f"{upload.name}: {mismatch}"))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        saved.append(_replace(folder / name, data))
    return saved, refused


def _replace(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new file renamed onto ``path``: a symlink there is replaced."""
    partial = path.with_name(f".{uuid.uuid4().hex}.part")
    try:
        with open(partial, "xb") as out:
            out.write(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
