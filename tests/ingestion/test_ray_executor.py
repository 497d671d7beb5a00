"""Ingestion on a local Ray cluster equals a single-process run, even when a worker is killed.

The cluster is started here (2 CPUs, so 2 model actors and parsing tasks beside them) on the
loopback interface only, and shut down after the module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tiny_models import build_tiny_model
from word_encoder import SlowWordEncoder

from rag import RAG, Access, ChunkingConfig, EmbedderConfig, RAGConfig, StoreConfig
from rag.cli import run
from rag.config import IngestConfig
from rag.errors import ConfigError

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
RAY = IngestConfig(executor="ray", ray_actors=2, ray_cpus=1)
LOCAL = IngestConfig()


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster of 2 CPUs, reachable on 127.0.0.1 only."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        # Ray binds to the machine's address unless told it is a single-machine cluster.
        patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        patch.setattr("ray._private.ray_constants.ENABLE_RAY_CLUSTER", False)
        # Workers unpickle the tests' fake encoders by module name.
        paths = [str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]
        patch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=256 * 1024 * 1024,
        )
        try:
            yield ray
        finally:
            ray.shutdown()


def test_ray_is_imported_only_when_the_ray_executor_runs() -> None:
    modules = "rag.cli, rag.sdk, ingestion.executors.ray_cluster"
    code = f"import sys, {modules}; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "False", done.stderr


def make_corpus(folder: Path, count: int, words: int) -> Path:
    folder.mkdir()
    vocabulary = "the cat sat on a mat robot warehouse policy vacation days report revenue cash"
    rng = np.random.default_rng(7)
    for doc in (REPO / "examples" / "docs").iterdir():
        (folder / doc.name).write_bytes(doc.read_bytes())
    terms = vocabulary.split()
    for i in range(count):
        lines = [" ".join(rng.choice(terms, size=12)) + f" {i} {n} ." for n in range(words // 14)]
        (folder / f"note-{i:02d}.txt").write_text("\n".join(lines) + "\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    return folder


def everything(rag: RAG) -> dict[str, Any]:
    """Every stored chunk by id, with its vector."""
    store = rag.store
    hits = store.search(np.ones(rag.encoder.dim, dtype=np.float32), k=store.count() + 10)
    return {h.chunk.id: h.chunk for h in hits}


def vectors(rag: RAG, ids: list[str]) -> np.ndarray:
    found = {c.id: c.vector for batch, _ in rag.store.export(1000) for c in batch}  # type: ignore[attr-defined]
    return np.array([found[i] for i in ids])


def same_as(local: RAG, distributed: RAG) -> None:
    """The same chunk ids and payloads, vectors at cosine >= 0.9999."""
    here, there = everything(local), everything(distributed)
    assert here.keys() == there.keys() and here
    for chunk_id, chunk in here.items():
        other = there[chunk_id]
        for key in ("text", "source", "char_span", "token_span", "headings", "metadata"):
            assert getattr(other, key) == getattr(chunk, key), key
    ids = sorted(here)
    a, b = vectors(local, ids), vectors(distributed, ids)
    cosines = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosines.min() >= 0.9999


def test_a_ray_ingest_equals_a_local_one_and_keeps_the_manifests_guarantees(
    tmp_path: Path, ray_cluster: Any
) -> None:
    corpus = make_corpus(tmp_path / "corpus", count=8, words=400)
    tiny = build_tiny_model(tmp_path / "tiny", "bert8k")
    embedder = EmbedderConfig(model=str(tiny), max_tokens=64)
    chunking = ChunkingConfig(chunk_size=16)

    def config(where: str, ingest: IngestConfig = LOCAL) -> RAGConfig:
        store = StoreConfig(path=tmp_path / where, collection="docs")
        return RAGConfig(store=store, embedder=embedder, chunking=chunking, ingest=ingest)

    with RAG(config("local")) as local:
        expected = local.ingest([corpus])
        with RAG(config("ray", RAY)) as distributed:
            results: list[str] = []
            report = distributed.ingest([corpus], on_result=lambda r: results.append(r.status))
            assert sorted(results) == sorted(f.status for f in expected.files)
            assert [f.error for f in report.failed] == [f.error for f in expected.failed]
            assert "broken.pdf" in str(report.failed[0].error)
            same_as(local, distributed)
            assert distributed.manifest.entries() == local.manifest.entries()
            again = distributed.ingest([corpus])  # idempotent: nothing is built twice
            assert again.count("unchanged") == len(expected.files) - 1
            secret = corpus / "note-00.txt"
            distributed.ingest([secret], access=Access(users=("alice",)))
            readers = {d.source: d.metadata.get("access") for d in distributed.store.documents()}
            assert readers[str(secret.resolve())] == ["user:alice"]
            assert str(secret.resolve()) not in {d.source for d in distributed.documents()}
    other = config("ray", RAY).model_copy(update={"chunking": ChunkingConfig(chunk_size=24)})
    with RAG(other) as refused, pytest.raises(ConfigError, match="chunk_size=16, not"):
        refused.ingest([corpus])


def test_rag_ingest_ray_runs_on_the_cluster_with_one_progress_bar(
    tmp_path: Path, ray_cluster: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = make_corpus(tmp_path / "corpus", count=3, words=100)
    tiny = build_tiny_model(tmp_path / "tiny", "bert8k")
    capsys.readouterr()  # what saving the tiny model printed
    args = ["ingest", str(corpus), "--store", str(tmp_path / "store"), "--model", str(tiny)]
    code = run([*args, "--chunk-size", "16", "--ray", "--ray-actors", "2"])
    out, err = capsys.readouterr()
    assert code == 1  # broken.pdf
    assert "6 ingested, 0 updated, 0 unchanged, 1 failed" in out
    assert "broken.pdf" in err
    lines = err.replace("\r", "\n").splitlines()
    bars = {line.split(":")[0].strip() for line in lines if "%|" in line}
    assert bars == {"ingest"}  # one bar for the whole cluster, nothing from the workers
    assert "7/7" in err


def test_more_actors_than_the_cluster_can_place_are_refused(ray_cluster: Any) -> None:
    from ingestion.executors.ray_cluster import RayPool

    pool = RayPool(SlowWordEncoder, actors=3, cpus=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="room for 2 model actor"):
        pool.start()
    assert pool.handles == []


def test_device_auto_uses_cpu_actors_on_a_cluster_without_gpus(ray_cluster: Any) -> None:
    from ingestion.executors.ray_cluster import RayPool

    pool = RayPool(SlowWordEncoder, actors=3, cpus=1, gpus=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="room for 2 model actor.* of 1 CPU"):
        pool.start()
    assert pool.gpus is False


def _kill_a_building_actor(stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first Ray worker seen embedding a batch (its title says so)."""
    while not stop.is_set() and not killed:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::EmbedActor.build"):
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
                return
        time.sleep(0.005)


def test_a_worker_killed_mid_run_is_retried_and_the_ingest_ends_complete(
    tmp_path: Path, ray_cluster: Any
) -> None:
    corpus = make_corpus(tmp_path / "corpus", count=12, words=300)
    chunking = ChunkingConfig(mode="late", chunker="tokens", chunk_size=10)

    def rag(where: str, ingest: IngestConfig = LOCAL) -> RAG:
        store = StoreConfig(path=tmp_path / where, collection="docs")
        config = RAGConfig(store=store, chunking=chunking, ingest=ingest)
        return RAG(config, encoder=SlowWordEncoder(0.05))

    with rag("clean") as clean:
        clean.ingest([corpus])
        with rag("killed", RAY) as distributed:
            stop, killed = threading.Event(), []
            killer = threading.Thread(target=_kill_a_building_actor, args=(stop, killed))
            killer.start()
            try:
                report = distributed.ingest([corpus])
            finally:
                stop.set()
                killer.join()
            assert killed, "no worker was caught embedding"
            assert [f.path for f in report.failed] == [str(corpus / "broken.pdf")]
            assert report.count("ingested") == len(report.files) - 1
            same_as(clean, distributed)
            assert distributed.manifest.unfinished() == []
