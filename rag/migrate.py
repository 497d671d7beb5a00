"""Copy an embedded collection to a Qdrant server, batch by batch; a rerun resumes.

Chunks keep their deterministic ids, so writing a batch twice changes nothing. After each
batch the id the next batch starts at is saved in a small state file beside the embedded
store (``STORE/.migrate/COLLECTION.json``); a rerun towards the same target starts there
instead of at the first chunk. The state file is removed once every batch is written.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.manifest import Manifest
from rag.config import StoreConfig
from rag.errors import StoreError
from rag.protocols import MigrationTarget
from rag.stores.edge import EdgeStore
from rag.stores.server import ServerStore

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 256
"""Chunks read from the embedded store and written to the server per request."""

STATE_DIR = ".migrate"
"""Folder under the embedded store's parent folder that holds unfinished migrations."""


@dataclass(frozen=True)
class MigrateReport:
    """What a migration did: chunks written now, chunks an earlier run had written, totals."""

    copied: int
    resumed: int
    source_chunks: int
    target_chunks: int
    seconds: float


def state_path(config: StoreConfig) -> Path:
    """Return where the progress of migrating ``config``'s embedded collection is kept."""
    return config.path / STATE_DIR / f"{config.collection}.json"


def server_target(url: str, config: StoreConfig, collection: str) -> ServerStore:
    """Return the (unopened) server store to copy into: ``config``'s key, sharding, quantization."""
    return ServerStore(
        url,
        api_key=config.api_key,
        collection=collection,
        shards=config.shards,
        replication=config.replication,
        write_consistency=config.write_consistency,
        quantization=config.quantization,
    )


def _read_state(path: Path, target: str, source_chunks: int) -> tuple[str | None, int]:
    """Return where an earlier run towards ``target`` stopped and how much it had copied."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, 0
    except (OSError, ValueError) as e:
        logger.warning("ignoring unreadable migration state %s: %s", path, e)
        return None, 0
    same_run = (
        isinstance(state, dict)
        and state.get("target") == target
        and state.get("source_chunks") == source_chunks
        and isinstance(state.get("next"), str)
        and isinstance(state.get("copied"), int)
    )
    if not same_run:
        logger.info("migration state %s is for another target or source: starting over", path)
        return None, 0
    return state["next"], state["copied"]


def _write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state), encoding="utf-8")
    os.replace(partial, path)


def migrate(
    source: EdgeStore,
    target: MigrationTarget,
    *,
    target_name: str,
    state_file: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    manifests: tuple[Manifest, Manifest] | None = None,
) -> MigrateReport:
    """Copy every chunk of the open ``source`` into the open ``target`` and check the counts.

    ``target_name`` identifies the target in ``state_file`` (a URL and collection, never a
    key); with a ``state_file`` an interrupted copy to the same target resumes where it
    stopped. ``on_progress(done, total)`` follows the copy. ``manifests`` (the source's and
    the target's): the source's interrupted ingest is finished first, and its rows and
    settings are written to the target's once the chunks are all there. Raises
    ``StoreError`` when the source is empty or the counts differ at the end.
    """
    started = time.perf_counter()
    if manifests is not None:
        manifests[0].recover(source)
    total = source.count()
    if total == 0:
        raise StoreError(
            f"nothing to migrate: {source.folder} holds no chunks", collection=source.collection
        )
    start, resumed = _read_state(state_file, target_name, total) if state_file else (None, 0)
    if start is not None:
        logger.info("resuming the migration to %s after %d chunks", target_name, resumed)
    done = resumed
    if on_progress:
        on_progress(done, total)
    created = False
    for chunks, following in source.export(batch_size, start=start):
        if not created:
            vector = chunks[0].vector
            target.create_collection(0 if vector is None else len(vector))
            created = True
        target.upsert(chunks)
        done += len(chunks)
        if state_file and following is not None:
            state = {"target": target_name, "source_chunks": total, "next": following}
            _write_state(state_file, {**state, "copied": done})
        if on_progress:
            on_progress(done, total)
    if state_file:
        state_file.unlink(missing_ok=True)
    target_chunks = target.count()
    if target_chunks != total:
        hint = (
            "the target collection already held other chunks: migrate into a new collection"
            if target_chunks > total
            else "run the migration again"
        )
        raise StoreError(
            f"{target_name} holds {target_chunks} chunks after the copy, {source.folder} "
            f"holds {total}: {hint}",
            collection=source.collection,
        )
    if manifests is not None:
        manifests[0].copy_to(manifests[1])
    return MigrateReport(
        copied=done - resumed,
        resumed=resumed,
        source_chunks=total,
        target_chunks=target_chunks,
        seconds=time.perf_counter() - started,
    )
