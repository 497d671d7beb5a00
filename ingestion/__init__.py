"""Turning files into documents and documents into chunks."""

# The rag package re-exports the SDK, which is built on this package: initialise it first, so
# that any module of this package can be the first one imported.
import rag  # noqa: F401  isort: skip
