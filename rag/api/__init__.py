"""LateRAG's HTTP API (``rag serve``): OpenAI-compatible chat with citations, search, ingest."""

from rag.api.app import create_app
from rag.api.state import DEFAULT_MAX_UPLOAD_BYTES

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "create_app"]
