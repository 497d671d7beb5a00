"""The in-process executor: files load in a background thread while the model embeds."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingestion.chunk_builder import ChunkBuilder
from ingestion.executors.unpack import unpack
from ingestion.loaders import load_document
from ingestion.prefetch import prefetch
from rag.errors import EmbeddingError, LoaderError
from rag.protocols import Admit
from rag.types import BuiltFile, Document


class LocalExecutor:
    """Builds in this process with one ``ChunkBuilder``; documents share forward passes."""

    def __init__(self, builder: ChunkBuilder) -> None:
        self.builder = builder

    def run(self, files: Sequence[Path], admit: Admit) -> Iterator[BuiltFile]:
        """Yield each file that failed to load or was admitted, once it is embedded."""
        waiting: deque[Path] = deque()
        failed: list[BuiltFile] = []

        def admitted() -> Iterator[Document]:
            for path, loaded in prefetch(files, load_document, errors=(LoaderError,)):
                if isinstance(loaded, Exception):
                    failed.append(BuiltFile(path, None, error=loaded))
                    continue
                for where, doc in unpack(path, loaded):
                    if isinstance(doc, LoaderError):
                        failed.append(BuiltFile(where, None, error=doc))
                    elif admit(where, doc):
                        waiting.append(where)
                        yield doc

        for doc, built in self.builder.build_many(admitted()):
            yield from _drain(failed)
            path = waiting.popleft()
            if isinstance(built, EmbeddingError):
                yield BuiltFile(path, doc, error=built)
            else:
                yield BuiltFile(path, doc, tuple(built))
        yield from _drain(failed)

    def close(self) -> None:
        """Nothing to release."""


def _drain(items: list[BuiltFile]) -> Iterator[BuiltFile]:
    while items:
        yield items.pop(0)
