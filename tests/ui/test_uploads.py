"""Dropped files: checked by the one upload policy, saved as the caller's beside the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_upload import FakeUpload

from rag.access import ANONYMOUS, Principal
from rag.config import StoreConfig
from rag.upload_area import UploadArea
from rag.uploads import owner_folder, upload_root
from ui.uploads import prepare_uploads


def test_upload_root_sits_beside_the_collection(tmp_path: Path) -> None:
    config = StoreConfig(path=tmp_path, collection="team")
    assert upload_root(config) == tmp_path / "uploads" / "team"


@pytest.mark.parametrize(
    ("who", "folder"),
    [
        (ANONYMOUS, "anonymous"),
        (Principal("alice"), "user-alice"),
        (Principal("../anonymous", ("eng",)), "user-..%2Fanonymous"),
        (Principal(".hidden"), "user-.hidden"),
        (Principal(groups=("eng", "ops")), "groups-eng%2Cops"),
    ],
)
def test_each_caller_has_its_own_plain_folder(who: Principal, folder: str) -> None:
    assert owner_folder(who) == folder


def test_a_long_user_name_gets_a_hashed_folder() -> None:
    folder = owner_folder(Principal("\u00e9" * 300))
    assert folder.startswith("user~") and len(folder.encode()) < 100


def test_the_policy_refuses_files_and_places_the_rest_in_the_callers_folder(tmp_path: Path) -> None:
    files = [
        FakeUpload("notes.md", b"# hi"),
        FakeUpload("../notes.md", b"# again"),
        FakeUpload("notes.md", b"# twice"),
        FakeUpload("R\u00e9sum\u00e9 (final).md", b"# accents kept"),
        FakeUpload("tool.exe", b"MZ"),
        FakeUpload("big.txt", b"x" * 2000),
    ]
    area = UploadArea(tmp_path / "up")
    accepted, refused = prepare_uploads(files, area, Principal("bob"), max_bytes=1000)
    mine = tmp_path / "up" / "user-bob"
    assert accepted == [
        (mine / "notes.md", b"# hi"),
        (mine / "R\u00e9sum\u00e9 (final).md", b"# accents kept"),
    ]
    assert [r.path for r in refused] == ["../notes.md", "notes.md", "tool.exe", "big.txt"]
    errors = [r.error or "" for r in refused]
    assert "is a path" in errors[0] and "dropped twice" in errors[1]
    assert "unsupported file type '.exe'" in errors[2] and "over the" in errors[3]
