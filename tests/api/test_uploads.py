"""API uploads: one document's operations run in order; failed uploads are listed and deleted."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rag.access import Principal
from rag.api import create_app
from rag.sdk import RAG

pytestmark = [pytest.mark.slow, pytest.mark.integration]

NewRag = Callable[..., RAG]
Serve = Callable[[FastAPI], str]


def version(n: int) -> bytes:
    return f"# Policy\n\nVersion {n}: hotels are paid up to {100 + n} euros per night.\n".encode()


def race(client: httpx.Client, doc_id: str, data: bytes) -> tuple[int, dict[str, Any]]:
    """DELETE ``doc_id`` and re-upload ``policy.md`` at once; the delete's status, the upload."""
    start = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def delete() -> None:
        start.wait()
        answers["delete"] = client.delete(f"/documents/{doc_id}")

    def upload() -> None:
        start.wait()
        answers["upload"] = client.post("/ingest", files={"f": ("policy.md", data)})

    threads = [threading.Thread(target=delete), threading.Thread(target=upload)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers["delete"].status_code, answers["upload"].json()


@pytest.mark.parametrize("run", range(3))
def test_a_delete_racing_a_reupload_never_deletes_the_new_version(
    new_rag: NewRag, serve: Serve, tmp_path: Path, run: int
) -> None:
    rag = new_rag()
    url = serve(create_app(rag, upload_dir=tmp_path / "up"))
    saved = tmp_path / "up" / "anonymous" / "policy.md"
    with httpx.Client(base_url=url, timeout=60) as client:
        for n in range(1, 6):
            first = client.post("/ingest", files={"f": ("policy.md", version(n))}).json()
            doc_id = first["files"][0]["doc_id"]
            deleted, uploaded = race(client, doc_id, version(n + 100))
            [result] = uploaded["files"]
            assert result["status"] != "failed", result["error"]
            assert deleted in (200, 404)
            stored = {d.doc_id: d for d in rag.all_documents()}
            if doc_id in stored:  # the upload ran last: all of it is there
                assert saved.read_bytes() == version(n + 100)
                new_hash = hashlib.sha256(version(n + 100)).hexdigest()
                assert stored[doc_id].content_hash == new_hash
            else:  # the delete ran last: nothing of it is left
                assert not saved.exists()


def test_failed_and_interrupted_uploads_are_listed_and_deleted_by_their_owner(
    new_rag: NewRag, serve: Serve, tmp_path: Path
) -> None:
    tokens = {"tok-alice": Principal("alice"), "tok-bob": Principal("bob")}
    app = create_app(new_rag(), tokens=tokens, upload_dir=tmp_path / "up")
    url = serve(app)
    alice = httpx.Client(base_url=url, headers={"Authorization": "Bearer tok-alice"}, timeout=60)
    bob = httpx.Client(base_url=url, headers={"Authorization": "Bearer tok-bob"}, timeout=60)
    good = alice.post("/ingest", files={"f": ("good.md", version(1))}).json()
    assert good["ingested"] == 1
    empty = alice.post("/ingest", files={"f": ("empty.md", b"   \n")}).json()
    assert empty["failed"] == 1  # saved, then refused by the loader
    # a replacement that fails leaves the older version stored
    assert alice.post("/ingest", files={"f": ("good.md", b" \n")}).json()["failed"] == 1
    folder = tmp_path / "up" / "user-alice"
    (folder / ".memo.md.0badc0de.part").write_bytes(b"# half a fi")  # a killed save
    listed = alice.get("/uploads/failed").json()["uploads"]
    assert listed == [
        {"name": "memo.md", "state": "interrupted", "size": 11, "stored": False},
        {"name": "empty.md", "state": "not ingested", "size": 4, "stored": False},
        {"name": "good.md", "state": "not ingested", "size": 2, "stored": True},
    ]
    assert bob.get("/uploads/failed").json() == {"uploads": []}
    assert bob.delete("/uploads/failed/empty.md").status_code == 404
    for name in ("memo.md", "empty.md", "good.md"):
        gone = alice.delete(f"/uploads/failed/{name}")
        assert gone.json() == {"name": name, "removed": 1}, gone.text
    assert alice.get("/uploads/failed").json() == {"uploads": []}
    assert sorted(os.listdir(folder)) == []
    assert [d["name"] for d in alice.get("/documents").json()["documents"]] == ["good.md"]
    refused = alice.delete("/uploads/failed/good.md")
    assert refused.status_code == 404 and "no failed upload" in refused.json()["error"]["message"]
    assert alice.delete("/uploads/failed/..%2Fx.md").status_code in (400, 404)
    # a re-upload of a name clears what a killed save of it left; a save in progress stays
    (folder / ".plan.md.0badc0de.part").write_bytes(b"# half")
    held = folder / ".plan.md.feedbeef.part"
    with open(held, "wb") as writing:
        fcntl.flock(writing, fcntl.LOCK_EX)
        assert alice.post("/ingest", files={"f": ("plan.md", version(3))}).json()["ingested"] == 1
        assert sorted(os.listdir(folder)) == [held.name, "plan.md"]
    held.unlink()
    alice.close()
    bob.close()


def test_an_upload_folder_that_cannot_be_written_is_a_clear_error(
    new_rag: NewRag, serve: Serve, tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    url = serve(create_app(new_rag(), upload_dir=tmp_path / "taken" / "up"))
    response = httpx.post(f"{url}/ingest", files={"f": ("policy.md", version(1))}, timeout=60)
    assert response.status_code == 507
    message = response.json()["error"]["message"]
    assert message.startswith("cannot save upload 'policy.md' in ") and "Not a directory" in message
