"""The ingestion pipeline: files in, late-chunked vectors stored, one result per file."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingestion.chunk_builder import ChunkBuilder
from ingestion.loaders import SUPPORTED_EXTENSIONS, load_document
from rag.errors import ConfigError, EmbeddingError, LoaderError
from rag.protocols import VectorStore

logger = logging.getLogger(__name__)

Status = Literal["ingested", "updated", "unchanged", "failed"]


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


class Ingestor:
    """Loads, chunks, embeds and stores files; re-ingesting unchanged files stores nothing."""

    def __init__(self, builder: ChunkBuilder, store: VectorStore) -> None:
        self.builder = builder
        self.store = store
        self._checked = False

    def _check_collection(self) -> None:
        if self._checked:
            return
        self.builder.check()
        model = self.builder.encoder.name
        if self.store.exists():
            for info in self.store.documents():
                stored = info.metadata.get("model")
                if stored and stored != model:
                    raise ConfigError(
                        f"collection {self.store.collection!r} holds vectors of model {stored!r}, "
                        f"not {model!r}: use another collection or the same model"
                    )
                break
        self._checked = True

    def ingest_file(self, path: Path) -> FileResult:
        """Ingest one file; a bad file gives a failed result, never an exception."""
        self._check_collection()
        try:
            doc = load_document(path)
        except LoaderError as e:
            return FileResult(str(path), "failed", error=str(e))
        stored = self.store.document(doc.id)
        settings = self.builder.describe()
        same_settings = stored is not None and all(
            stored.metadata.get(k) == v for k, v in settings.items()
        )
        if stored and stored.content_hash == doc.content_hash and same_settings:
            # An interrupted earlier run may have left the previous version beside this one.
            self.store.delete_document(doc.id, keep_hash=doc.content_hash)
            return FileResult(str(path), "unchanged", doc.id, stored.chunks)
        try:
            chunks = self.builder.build(doc)
        except EmbeddingError as e:
            return FileResult(str(path), "failed", doc.id, error=f"{path}: {e}")
        if not chunks:
            return FileResult(str(path), "failed", doc.id, error=f"{path}: no text to index")
        if stored and not same_settings:
            self.store.delete_document(doc.id)
        self.store.create_collection(self.builder.encoder.dim)
        self.store.upsert(chunks)
        self.store.delete_document(doc.id, keep_hash=doc.content_hash)
        tokens = sum(c.token_span[1] - c.token_span[0] for c in chunks if c.token_span)
        return FileResult(
            str(path), "updated" if stored else "ingested", doc.id, len(chunks), tokens
        )

    def ingest(
        self,
        paths: Sequence[str | Path],
        on_result: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; ``on_result`` hears about each file as it finishes."""
        started = time.perf_counter()
        files, results = collect_files(paths)
        for result in results:
            if on_result:
                on_result(result)
        for path in files:
            result = self.ingest_file(path)
            if result.error:
                logger.warning("%s", result.error)
            results.append(result)
            if on_result:
                on_result(result)
        return IngestReport(tuple(results), time.perf_counter() - started)
