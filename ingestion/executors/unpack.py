"""The documents one loaded file holds: itself, then the attachments found inside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rag.errors import LoaderError
from rag.types import Document


def unpack(path: Path, loaded: Document) -> Iterator[tuple[Path, Document | LoaderError]]:
    """Yield ``loaded`` under ``path``, then each attachment under ``path#NAME``.

    An attachment that could not be read comes as its ``LoaderError``, so it is reported on
    its own while the file and its other attachments go in.
    """
    yield path, loaded
    for name, reason in loaded.failed:
        yield Path(f"{path}#{name}"), LoaderError(f"{path}#{name}", reason)
    for doc in loaded.attachments:
        yield Path(f"{path}#{doc.metadata['name']}"), doc
