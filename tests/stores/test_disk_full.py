"""A disk that fills up mid-ingest: a clear error, and the store reopens consistent.

The store sits on a small tmpfs mounted in a private mount namespace (``unshare``), which
needs root; CI runs as root. The writer ingests three documents, shrinks the tmpfs to what
is used plus 64 KiB and goes on; the checker reopens the store once there is room again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from needs import unavailable

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
MARGIN = 64 * 1024

CHILD = r"""
import json, shutil, subprocess, sys
from pathlib import Path
from rag import RAG, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder

mount, docs, mode = Path(sys.argv[1]), sorted(Path(sys.argv[2]).glob("*.txt")), sys.argv[3]
config = RAGConfig(store=StoreConfig(path=mount / "store"))
encoder = TransformerEncoder().load()

def say(kind, value):
    print(kind, json.dumps(value), flush=True)

if mode == "check":
    with RAG(config, encoder=encoder) as rag:
        infos = rag.documents()
        hits = rag.search("Document number topic", k=3)
        say("STATE", {
            "docs": {d.source: [d.chunks, len(rag.store.chunk_ids(d.doc_id))] for d in infos},
            "count": rag.store.count(),
            "hits": [h.chunk.source for h in hits],
        })
    sys.exit()

rag = RAG(config, encoder=encoder)
report = lambda r: say("RESULT", [r.path, r.status, r.chunks, r.error])
rag.ingest(docs[:3], report)
used = shutil.disk_usage(mount).used
subprocess.run(["mount", "-o", f"remount,size={used + int(sys.argv[4])}", str(mount)], check=True)
say("FULL", used)
try:
    rag.ingest(docs[3:], report)
    rag.close()
except Exception as e:
    say("ERROR", f"{type(e).__name__}: {e}")
"""


def namespace_shell(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )


def lines(output: str, kind: str) -> list[object]:
    prefix = kind + " "
    found = [line[len(prefix) :] for line in output.splitlines() if line.startswith(prefix)]
    return [json.loads(text) for text in found]


def test_a_full_disk_mid_ingest_leaves_every_reported_document_whole(tmp_path: Path) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    if shutil.which("unshare") is None:
        unavailable("unshare (util-linux) is not installed")
    probe = namespace_shell(f"mount -t tmpfs -o size=1m tmpfs {mount}", tmp_path)
    if probe.returncode != 0:
        unavailable(f"cannot mount a tmpfs in a private namespace (needs root): {probe.stderr}")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"doc{i:02d}.txt").write_text(f"Document number {i} about topic {i}. " * 40)
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    py = sys.executable
    script = (
        f"mount -t tmpfs -o size=64m tmpfs {mount} && "
        f"{{ {py} {child} {mount} {docs} write {MARGIN}; echo WRITER_EXIT $?; }} && "
        f"mount -o remount,size=512m {mount} && {py} {child} {mount} {docs} check"
    )
    run = namespace_shell(script, tmp_path)
    out = run.stdout
    assert run.returncode == 0, run.stderr[-3000:]
    results = lines(out, "RESULT")
    assert [r[1] for r in results[:3]] == ["ingested"] * 3  # before the disk filled
    assert lines(out, "FULL")

    # The disk filled: the batch stopped with one clear line, or files failed with one.
    errors = lines(out, "ERROR")
    failed = [r for r in results if r[1] == "failed"]
    exit_code = int(out.split("WRITER_EXIT ")[1].split()[0])
    assert errors or failed or exit_code != 0, "every document fit: the disk never filled"
    for message in [*errors, *(r[3] for r in failed)]:
        assert isinstance(message, str) and "\n" not in message
    if errors:
        assert str(mount / "store") in errors[0]
        assert "full" in errors[0].lower() or "no space" in errors[0].lower()

    # Reopened with room again: every document reported ingested is whole, nothing half.
    (state,) = lines(out, "STATE")
    assert isinstance(state, dict)
    stored = state["docs"]
    reported = {r[0]: r[2] for r in results if r[1] == "ingested"}
    for path, chunks in reported.items():
        assert stored.get(path) == [chunks, chunks], path
    assert all(expected == found for expected, found in stored.values())
    assert state["count"] == sum(expected for expected, _ in stored.values())
    assert state["hits"] and set(state["hits"]) <= set(stored)
