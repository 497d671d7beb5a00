"""One collection's upload folder: per-owner files, per-document locks, saves, failed uploads.

Files live at ``ROOT/OWNER/NAME`` (see ``rag.uploads``). Every operation on one upload (save
and ingest, delete, discard) runs holding that document's lock, so two operations on one name
never interleave: the later one wins, whole. A save writes ``.NAME.XXXXXXXX.part`` under an
exclusive ``flock`` and renames it onto the name; a partial file nobody holds is left by an
interrupted save.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from rag.access import Principal
from rag.types import DocumentInfo, document_id
from rag.uploads import UploadError, owner_folder

PART = ".part"

FailedState = Literal["interrupted", "not ingested"]


@dataclass(frozen=True)
class FailedUpload:
    """An upload that is not stored as sent.

    ``interrupted``: its save stopped part way (``size`` bytes arrived); ``not ingested``: it
    was saved but its ingest failed or stopped. ``stored`` is True when an older version of
    the name is still stored (and searchable).
    """

    name: str
    state: FailedState
    size: int
    stored: bool = False


class _Locks:
    """One lock per key, created on first use and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def held(self, key: str) -> bool:
        with self._guard:
            return key in self._locks


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hashes(documents: Iterable[DocumentInfo]) -> dict[str, str]:
    return {info.doc_id: info.content_hash for info in documents}


def _orphan(partial: Path) -> bool:
    """True when no save holds ``partial`` (its writer was killed or it never finished)."""
    try:
        fd = os.open(partial, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _partial_name(part: str) -> str | None:
    """The upload name of ``.NAME.XXXXXXXX.part``, else None."""
    if not (part.startswith(".") and part.endswith(PART)):
        return None
    name, dot, tag = part[1 : -len(PART)].rpartition(".")
    return name if dot and len(tag) == 8 and name else None


class UploadArea:
    """The uploads of one collection under ``root``; share one per process (it holds the locks)."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self._locks = _Locks()

    def folder(self, principal: Principal) -> Path:
        """The folder of ``principal``'s uploads."""
        return self.root / owner_folder(principal)

    def path(self, principal: Principal, name: str) -> Path:
        """Where ``principal``'s upload ``name`` (checked by ``check_name``) is saved."""
        return self.folder(principal) / name

    def is_upload(self, source: str) -> bool:
        """True when the stored ``source`` is a file of this area."""
        return Path(source).is_relative_to(self.root)

    def check_may_write(self, source: str, principal: Principal) -> None:
        """Refuse (403) a change of another owner's upload; other documents are not uploads.

        An upload made before owners (``ROOT/NAME``) has none and is treated as the others.
        """
        folder = Path(source).parent
        if self.is_upload(source) and folder not in (self.root, self.folder(principal)):
            raise UploadError(
                f"{Path(source).name} was uploaded by another caller: only its uploader may "
                "change it",
                status=403,
            )

    @contextmanager
    def hold(self, doc_ids: Iterable[str]) -> Iterator[None]:
        """Hold the locks of these documents (in one order, so two holders never deadlock)."""
        with ExitStack() as stack:
            for doc_id in sorted(set(doc_ids)):
                stack.enter_context(self._locks.hold(doc_id))
            yield

    def save(self, source: BinaryIO, path: Path) -> Path:
        """Write ``source`` to ``path`` atomically: a new file renamed onto it, never through it.

        Partial files an interrupted save of the same name left behind go once it is saved. A
        folder that cannot be written (permissions, a full disk) raises ``UploadError`` (507).
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{PART}")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                with open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(source, out)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
                os.close(fd)
        except OSError as e:
            reason = e.strerror or str(e)
            raise UploadError(
                f"cannot save upload {ascii(path.name)} in {path.parent}: {reason}", status=507
            ) from e
        self._drop_partials(path)
        return path

    def _drop_partials(self, path: Path) -> int:
        """Delete the partial files of ``path`` that no save holds; return how many went."""
        dropped = 0
        for entry in path.parent.iterdir() if path.parent.is_dir() else ():
            if _partial_name(entry.name) == path.name and _orphan(entry):
                entry.unlink(missing_ok=True)
                dropped += 1
        return dropped

    def remove(self, source: str) -> None:
        """Delete the uploaded file of a deleted document (nothing outside this area)."""
        if self.is_upload(source):
            Path(source).unlink(missing_ok=True)

    def failed(self, principal: Principal, documents: Iterable[DocumentInfo]) -> list[FailedUpload]:
        """``principal``'s uploads not stored as sent, by name, given the stored ``documents``.

        Uploads being saved or ingested now are not listed.
        """
        stored = _hashes(documents)
        folder = self.folder(principal)
        if not folder.is_dir():
            return []
        found: list[FailedUpload] = []
        for entry in sorted(folder.iterdir()):
            partial = _partial_name(entry.name)
            if partial is not None:
                if _orphan(entry):
                    size = entry.stat().st_size
                    found.append(FailedUpload(partial, "interrupted", size))
                continue
            doc_id = document_id(str(entry))
            if entry.name.startswith(".") or not entry.is_file() or self._locks.held(doc_id):
                continue
            kept = stored.get(doc_id)
            if kept != _sha256(entry):
                size = entry.stat().st_size
                found.append(FailedUpload(entry.name, "not ingested", size, kept is not None))
        return found

    def discard(
        self, principal: Principal, name: str, documents: Callable[[], Iterable[DocumentInfo]]
    ) -> int:
        """Delete ``principal``'s failed upload ``name`` and its partial files; 404 if none.

        ``documents`` lists the stored documents; it is called holding the upload's lock. A
        file stored as sent is not a failed upload: delete its document instead.
        """
        path = self.path(principal, name)
        doc_id = document_id(str(path))
        with self.hold([doc_id]):
            removed = self._drop_partials(path)
            if path.is_file() and _hashes(documents()).get(doc_id) != _sha256(path):
                path.unlink()
                removed += 1
        if not removed:
            raise UploadError(f"you have no failed upload named {ascii(name)}", status=404)
        return removed
