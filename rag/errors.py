"""The error hierarchy: everything LateRAG raises on purpose is a ``RagError``."""

from __future__ import annotations


class RagError(Exception):
    """Base of every error LateRAG raises on purpose; its message is fit for one line."""


class ConfigError(RagError):
    """A setting is invalid or contradicts what a collection already holds."""


class InputError(RagError):
    """Text given by a caller (a query, a chat message) cannot be used as it is."""


class LoaderError(RagError):
    """A file could not be read into a document."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[LoaderError], tuple[str, str]]:
        """Pickle by path and reason (it travels back from a Ray worker)."""
        return (type(self), (self.path, self.reason))


class EmbeddingError(RagError):
    """A model could not be loaded or could not embed the given text."""


class StoreError(RagError):
    """The vector store failed or refused an operation."""

    def __init__(self, message: str, *, collection: str | None = None) -> None:
        super().__init__(f"collection {collection!r}: {message}" if collection else message)
        self.collection = collection


class StoreLockedError(StoreError):
    """The embedded store folder is held by another process."""


class GenerationError(RagError):
    """The language model endpoint failed or answered with something unusable."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
