"""The Ray executor: parsing tasks and a pool of model actors on a Ray cluster.

Files are parsed by Ray tasks; the documents come back to this process, which admits them
(unchanged ones are skipped) and groups them into batches of about ``batch_chars``
characters for the actors. Each actor holds one ``ChunkBuilder`` with its own copy of the
model (one per GPU, or per ``cpus`` CPUs) and builds a batch with ``build_many``, so
documents share forward passes as they do in one process. A killed worker is restarted by
Ray and its task run again; what comes back is written to the store by this process only.
Ray is imported when the executor starts, never at import time.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ingestion.chunk_builder import ChunkBuilder
from ingestion.executors.unpack import unpack
from ingestion.loaders import load_document
from rag.errors import ConfigError, EmbeddingError, LoaderError
from rag.protocols import Admit
from rag.types import BuiltFile, Chunk, Document

logger = logging.getLogger(__name__)

BATCH_CHARS = 131_072
"""Characters of text sent to an actor at once while every actor is busy (about 32k tokens)."""

RETRIES = 3
"""Times Ray restarts a dead actor, and runs a task again after its worker died."""

BuilderFactory = Callable[[], ChunkBuilder]
"""Makes an actor's builder on the actor; sent to the cluster, so it must pickle."""


def import_ray() -> Any:
    """The ``ray`` module; a clear ``ImportError`` when the extra is not installed."""
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "the Ray executor needs Ray: pip install 'laterag[ray]' (or pip install ray)"
        ) from e
    return ray


def _load(path: str) -> Document | LoaderError:
    """Parse one file on a worker; a bad file's error comes back as a value, not retried."""
    try:
        return load_document(Path(path))
    except LoaderError as e:
        return e


class EmbedActor:
    """A Ray actor holding one builder (and so one model) for its life."""

    def __init__(self, factory: BuilderFactory) -> None:
        self._builder = factory()
        self._builder.check()

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()

    def build(
        self, docs: list[Document], access: list[str] | None
    ) -> list[list[Chunk] | EmbeddingError]:
        """Chunk and embed ``docs`` together; one result per document, in order."""
        builder = self._builder.with_access(access)
        return [built for _, built in builder.build_many(docs)]


class RayPool:
    """A connection to a Ray cluster and the model actors started on it, made on first use.

    ``address`` None or "" lets Ray choose ($RAY_ADDRESS, else a cluster started on this
    machine, else a new local one); a cluster that this process is already connected to is
    used as it is. ``actors`` None: one per GPU when ``gpus``, else one per ``cpus`` CPUs;
    ``gpus`` None: GPUs when the cluster has any (``--device auto``).
    """

    def __init__(
        self,
        factory: BuilderFactory,
        *,
        address: str | None = None,
        actors: int | None = None,
        cpus: float = 1.0,
        gpus: bool | None = False,
    ) -> None:
        self.factory = factory
        self.address = address or None
        self.actors = actors
        self.cpus = cpus
        self.gpus = gpus
        self.handles: list[Any] = []
        self._started = False

    def start(self) -> list[Any]:
        """Connect (or start a local cluster) and start the actors; returns their handles."""
        if self.handles:
            return self.handles
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
            self._started = True
        resources = ray.cluster_resources()
        if self.gpus is None:
            self.gpus = resources.get("GPU", 0) >= 1
        count = self.actors or self._fit(resources)
        fits = self._fit(resources)
        if count > fits:  # actors that cannot be placed would hold their batches for ever
            unit = "GPU" if self.gpus else f"{self.cpus:g} CPU"
            raise ConfigError(
                f"the Ray cluster has room for {fits} model actor(s) of {unit}, not {count}: "
                "lower --ray-actors or --ray-cpus, or add nodes"
            )
        actor = ray.remote(EmbedActor).options(
            num_cpus=1 if self.gpus else self.cpus,
            num_gpus=1 if self.gpus else 0,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
        )
        self.handles = [actor.remote(self.factory) for _ in range(count)]
        logger.info("started %d model actor(s) on the Ray cluster", count)
        return self.handles

    def _fit(self, resources: dict[str, float]) -> int:
        if self.gpus:
            gpus = int(resources.get("GPU", 0))
            if gpus < 1:
                raise ConfigError("the Ray cluster has no GPU for --device cuda: use cpu")
            return gpus
        return max(1, int(resources.get("CPU", 1) // self.cpus))

    def close(self) -> None:
        """Stop the actors, and the local cluster if this pool started it."""
        if not self.handles and not self._started:
            return
        ray = import_ray()
        for handle in self.handles:
            ray.kill(handle)
        self.handles = []
        if self._started:
            ray.shutdown()
            self._started = False


class RayExecutor:
    """Loads, chunks and embeds on a Ray cluster through ``pool``, tagging chunks ``access``."""

    def __init__(
        self, pool: RayPool, access: list[str] | None = None, *, batch_chars: int = BATCH_CHARS
    ) -> None:
        self.pool = pool
        self.access = access
        self.batch_chars = batch_chars

    def run(self, files: Sequence[Path], admit: Admit) -> Iterator[BuiltFile]:
        """Yield each file that failed to load or was admitted, as its batch comes back."""
        ray = import_ray()
        actors = self.pool.start()
        parse = ray.remote(_load).options(num_cpus=0, max_retries=RETRIES)
        todo = deque(files)
        parsing: dict[Any, Path] = {}
        building: dict[Any, tuple[Any, list[tuple[Path, Document]]]] = {}
        load = {id(a): 0 for a in actors}
        batch: list[tuple[Path, Document]] = []

        def full() -> bool:
            return sum(len(doc.text) for _, doc in batch) >= self.batch_chars

        while todo or parsing or building or batch:
            while todo and len(parsing) < 2 * len(actors) + 2 and not full():
                path = todo.popleft()
                parsing[parse.remote(str(path))] = path
            free = min(actors, key=lambda a: load[id(a)])
            if batch and (load[id(free)] == 0 or (full() and load[id(free)] < 2)):
                ref = free.build.remote([doc for _, doc in batch], self.access)
                building[ref] = (free, batch)
                load[id(free)] += 1
                batch = []
                continue
            if not parsing and not building:
                continue  # only a batch waiting for an actor: the branch above takes it
            (ref,), _ = ray.wait([*parsing, *building], num_returns=1)
            if ref in parsing:
                path = parsing.pop(ref)
                loaded = _loaded(ray, ref, path)
                if isinstance(loaded, LoaderError):
                    yield BuiltFile(path, None, error=loaded)
                    continue
                for where, doc in unpack(path, loaded):
                    if isinstance(doc, LoaderError):
                        yield BuiltFile(where, None, error=doc)
                    elif admit(where, doc):
                        batch.append((where, doc))
                continue
            actor, done = building.pop(ref)
            load[id(actor)] -= 1
            yield from _results(ray, ref, done)

    def close(self) -> None:
        """Nothing of its own to release: the pool is shared (``RayPool.close``)."""


def _loaded(ray: Any, ref: Any, path: Path) -> Document | LoaderError:
    try:
        loaded: Document | LoaderError = ray.get(ref)
    except Exception as e:  # its worker died more often than Ray runs a task again
        return LoaderError(str(path), f"the Ray worker failed: {type(e).__name__}: {e}")
    return loaded


def _results(ray: Any, ref: Any, done: list[tuple[Path, Document]]) -> Iterator[BuiltFile]:
    try:
        results = ray.get(ref)
    except Exception as e:  # the actor died more often than Ray restarts it, or a bug
        reason = EmbeddingError(f"the Ray worker failed: {type(e).__name__}: {e}")
        results = [reason] * len(done)
    for (path, doc), built in zip(done, results, strict=True):
        if isinstance(built, EmbeddingError):
            yield BuiltFile(path, doc, error=built)
        else:
            yield BuiltFile(path, doc, tuple(built))
