"""Where files are loaded, chunked and embedded: this process, or a Ray cluster.

Each executor implements ``rag.protocols.IngestExecutor``; the ingestor writes what they
build to the store from its own process. ``ray_cluster`` is imported only when asked for.
"""

from ingestion.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
