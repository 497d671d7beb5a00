"""The upload area: who may change an upload, one document's operations in turn."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rag.access import ANONYMOUS, Principal
from rag.upload_area import UploadArea
from rag.uploads import UploadError

ALICE, BOB = Principal("alice"), Principal("bob")


def test_only_an_uploads_owner_may_change_it(tmp_path: Path) -> None:
    area = UploadArea(tmp_path / "up")
    alices = str(area.path(ALICE, "plan.md"))
    area.check_may_write(alices, ALICE)
    for other in (BOB, ANONYMOUS, Principal(groups=("alice",))):
        with pytest.raises(UploadError, match="only its uploader") as caught:
            area.check_may_write(alices, other)
        assert caught.value.status == 403
    area.check_may_write(str(tmp_path / "docs" / "handbook.md"), BOB)  # not an upload
    area.check_may_write(str(area.root / "old.md"), BOB)  # an upload from before owners


def test_a_documents_operations_run_one_after_the_other(tmp_path: Path) -> None:
    area = UploadArea(tmp_path / "up")
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with area.hold(["doc-b", "doc-a"]):
            inside.set()
            time.sleep(0.2)
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(5)
    with area.hold(["doc-c"]):  # another document does not wait
        order.append("other")
    with area.hold(["doc-a"]):  # the same document waits for the first holder
        order.append("second")
    thread.join()
    assert order == ["other", "first", "second"]
