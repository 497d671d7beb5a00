"""The ingestion pipeline: files in, late-chunked vectors stored, one result per file."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ingestion.chunk_builder import ChunkBuilder
from ingestion.executors import LocalExecutor
from ingestion.loaders import SUPPORTED_EXTENSIONS
from ingestion.manifest import Entry, Manifest, Record, manifest_for
from rag.errors import ConfigError
from rag.protocols import IngestExecutor, VectorStore
from rag.types import ATTACHED_TO, BuiltFile, Document, SearchFilter

logger = logging.getLogger(__name__)

Status = Literal["ingested", "updated", "unchanged", "failed"]

PER_DOCUMENT_SETTINGS = frozenset({"access"})
"""Keys of ``ChunkBuilder.describe()`` that may differ between a collection's documents."""

RECORDED_SETTINGS = frozenset({"runtime"})
"""Keys of ``ChunkBuilder.describe()`` recorded with the chunks but never compared.

The runtime (device, precision, backend): bf16 and ONNX vectors stay within cosine 0.999 of
fp32 (tests/encoders/test_backends.py), so a new runtime re-embeds nothing."""

REINDEX_HINT = "rag ingest --reindex, or RAG.ingest(..., reindex=True)"


@dataclass(frozen=True)
class FileResult:
    """What happened to one file."""

    path: str
    status: Status
    doc_id: str | None = None
    chunks: int = 0
    tokens: int = 0
    error: str | None = None


@dataclass(frozen=True)
class IngestReport:
    """What an ingest run did, file by file."""

    files: tuple[FileResult, ...]
    seconds: float

    def count(self, status: Status) -> int:
        """How many files ended with ``status``."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileResult]:
        """The files that could not be ingested."""
        return [f for f in self.files if f.status == "failed"]


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand folders (recursively, supported types, hidden entries skipped) into files.

    Returns the files to ingest and a failed result for each path that does not exist.
    """
    files: list[Path] = []
    missing: list[FileResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in SUPPORTED_EXTENSIONS
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            missing.append(FileResult(str(path), "failed", error=f"{path}: no such file"))
    return files, missing


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``settings`` as they read back from JSON (tuples become lists)."""
    plain: dict[str, Any] = json.loads(json.dumps(dict(settings), sort_keys=True))
    return plain


def compared_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a stored version must match to be unchanged."""
    return {k: v for k, v in _plain(settings).items() if k not in RECORDED_SETTINGS}


def collection_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The model and chunking settings every document of one collection must share."""
    compared = compared_settings(settings)
    return {k: v for k, v in compared.items() if k not in PER_DOCUMENT_SETTINGS}


def _like(stored: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` restricted to the keys of ``settings``, for comparing the two."""
    return {k: _plain(stored).get(k) for k in settings}


def settings_error(collection: str, stored: dict[str, Any], wanted: dict[str, Any]) -> ConfigError:
    """The refusal to add documents built with ``wanted`` to a collection built with ``stored``."""
    if stored.get("model") != wanted.get("model"):
        return ConfigError(
            f"collection {collection!r} holds vectors of model {stored.get('model')!r}, "
            f"not {wanted.get('model')!r}: use another collection, the same model, "
            f"or re-index it ({REINDEX_HINT})"
        )
    keys = [k for k in wanted if stored.get(k) != wanted[k]]
    old = ", ".join(f"{k}={stored.get(k)!r}" for k in keys)
    new = ", ".join(f"{k}={wanted[k]!r}" for k in keys)
    return ConfigError(
        f"collection {collection!r} was chunked with {old}, not {new}: use the same settings, "
        f"another collection, or re-index it ({REINDEX_HINT})"
    )


class Ingestor:
    """Loads, chunks, embeds and stores files; re-ingesting unchanged files stores nothing.

    Each document's new version becomes visible whole or not at all: the ``manifest`` (by
    default the store's, see ``manifest_for``) records it as pending before its chunks are
    written and as committed after, and only then are the old version's chunks deleted.
    With ``reindex``, the model and chunking settings may differ from the collection's: the
    given files are re-chunked and documents still built with the old settings are removed.
    The ``executor`` (default: this process) loads, chunks and embeds; it must build as
    ``builder`` would, which this process keeps for the settings and the checks. Each swap
    of versions holds ``swap_lock`` (the store's lock, for searches running meanwhile).
    """

    def __init__(
        self,
        builder: ChunkBuilder,
        store: VectorStore,
        manifest: Manifest | None = None,
        *,
        reindex: bool = False,
        executor: IngestExecutor | None = None,
        swap_lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.builder = builder
        self.store = store
        self.manifest = manifest if manifest is not None else manifest_for(store)
        self.reindex = reindex
        self.executor = executor if executor is not None else LocalExecutor(builder)
        self.swap_lock = swap_lock if swap_lock is not None else nullcontext()
        self._prepared = False

    def _stored_settings(self) -> dict[str, Any] | None:
        """The collection's settings, or None while it holds no chunks."""
        if not self.store.exists() or self.store.count() == 0:
            return None
        recorded = self.manifest.settings()
        if recorded is not None:
            return recorded
        for info in self.store.documents():  # a collection made before manifests
            return collection_settings(info.metadata)
        return None

    def _prepare(self) -> None:
        """Check the settings and finish an interrupted ingest, once, before the first file."""
        if self._prepared:
            return
        self.builder.check()
        self.manifest.recover(self.store)
        wanted = collection_settings(self.builder.describe())
        stored = self._stored_settings()
        if stored is not None and _like(stored, wanted) != wanted and not self.reindex:
            raise settings_error(self.store.collection, stored, wanted)
        if stored is not None:  # a re-index to another model needs vectors of the same size
            self.store.create_collection(self.builder.encoder.dim)
        if self.manifest.reindexing() and not self.reindex:
            raise ConfigError(
                f"re-indexing collection {self.store.collection!r} was interrupted: "
                f"run the ingest again with reindex ({REINDEX_HINT}) to finish it"
            )
        if self.reindex:
            self.manifest.set_reindexing(True)
        if stored != wanted:
            self.manifest.set_settings(wanted)
        self._prepared = True

    def _unchanged(self, doc: Document, record: Record | None, settings: dict[str, Any]) -> int:
        """Return the chunk count when this version is stored whole with these settings, else 0."""
        if record is not None and record.committed is not None:
            entry = record.committed
            same = compared_settings(entry.settings) == settings
            if entry.content_hash != doc.content_hash or not same:
                return 0
            stored = self.store.count(SearchFilter(doc_ids=(doc.id,)))
            return stored if stored == len(entry.chunk_ids) else 0
        # No row: a version written before there was a manifest, or a server collection's.
        info = self.store.document(doc.id) if self.store.exists() else None
        if info is None or info.content_hash != doc.content_hash:
            return 0
        if _like(info.metadata, settings) != settings:
            return 0
        ids = tuple(c.id for c in self.builder.build(doc, vectors=False))
        if sorted(self.store.chunk_ids(doc.id)) != sorted(ids):
            return 0
        self.manifest.adopt(Entry(doc.id, doc.source, doc.content_hash, ids, settings))
        return len(ids)

    def _swap(self, entry: Entry, chunks: Sequence[Any], previous: Sequence[str]) -> None:
        """Write a new version: pending, chunks, committed, then delete the old chunks."""
        self.manifest.begin(entry, previous)
        try:
            self.store.upsert(chunks)
        except BaseException:
            try:
                self.manifest.recover(self.store)
            except Exception as e:  # the store that failed may fail again: the next open retries
                logger.warning("cannot undo the partial ingest of %s yet: %s", entry.path, e)
            raise
        self.manifest.commit(entry.doc_id)
        self.store.delete_points(sorted(set(previous) - set(entry.chunk_ids)))
        self.manifest.settle(entry.doc_id)

    def _ingest_files(self, files: Sequence[Path], emit: Callable[[FileResult], None]) -> None:
        """Ingest ``files``; ``emit`` gets one result per file, in the order each ends.

        The executor loads, chunks and embeds; this process decides what is built (not
        unchanged, not already on its way) and writes it through the manifest.
        """
        self._prepare()
        settings = compared_settings(self.builder.describe())
        on_the_way: set[str] = set()
        repeats: list[Path] = []  # a document already on its way in (a symlink to it, say)

        def admit(path: Path, doc: Document) -> bool:
            if doc.id in on_the_way:
                if ATTACHED_TO not in doc.metadata:  # an attachment comes again with its file
                    repeats.append(path)
                return False
            unchanged = self._unchanged(doc, self.manifest.get(doc.id), settings)
            if unchanged:
                emit(FileResult(str(path), "unchanged", doc.id, unchanged))
                return False
            on_the_way.add(doc.id)
            return True

        pending = list(files)
        while pending:  # each round leaves fewer repeats than it was given
            for built in self.executor.run(pending, admit):
                if built.document is None:
                    emit(FileResult(str(built.path), "failed", error=str(built.error)))
                    continue
                on_the_way.discard(built.document.id)
                emit(self._store_built(built.document, built, settings))
            pending, repeats = repeats, []

    def _store_built(self, doc: Document, file: BuiltFile, settings: dict[str, Any]) -> FileResult:
        """Store one embedded document as its new version."""
        path, built = file.path, list(file.chunks)
        if file.error is not None:
            return FileResult(str(path), "failed", doc.id, error=f"{path}: {file.error}")
        if not built:
            return FileResult(str(path), "failed", doc.id, error=f"{path}: no text to index")
        self.store.create_collection(self.builder.encoder.dim)
        entry = Entry(doc.id, doc.source, doc.content_hash, tuple(c.id for c in built), settings)
        with self.swap_lock:  # a search sees the old version or the new one, never both
            previous = self.store.chunk_ids(doc.id)
            self._swap(entry, built, previous)
        tokens = sum(c.token_span[1] - c.token_span[0] for c in built if c.token_span)
        return FileResult(
            str(path), "updated" if previous else "ingested", doc.id, len(built), tokens
        )

    def _finish_reindex(self, missing: int) -> None:
        """Remove the documents still built with other settings, unless a path was missing."""
        if missing:
            logger.warning(
                "re-indexing collection %r is not finished: %d given path(s) missing; "
                "run it again with reindex once they are right",
                self.store.collection,
                missing,
            )
            return
        wanted = collection_settings(self.builder.describe())
        for info in self.store.documents() if self.store.exists() else []:
            if _like(info.metadata, wanted) != wanted:
                self.store.delete_document(info.doc_id)
                self.manifest.forget(info.doc_id)
                logger.warning(
                    "removed %s from collection %r: it was not re-indexed with the new settings",
                    info.source,
                    self.store.collection,
                )
        self.manifest.set_reindexing(False)

    def ingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; ``on_result`` hears about each file as it finishes."""
        started = time.perf_counter()
        files, results = collect_files(paths)
        missing = len(results)
        for result in results:
            if on_result:
                on_result(result)

        def emit(result: FileResult) -> None:
            if result.error:
                logger.warning("%s", result.error)
            results.append(result)
            if on_result:
                on_result(result)

        self._ingest_files(files, emit)
        if self.reindex:
            self._prepare()
            self._finish_reindex(missing)
        return IngestReport(tuple(results), time.perf_counter() - started)
