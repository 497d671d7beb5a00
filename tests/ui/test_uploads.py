"""Uploaded files: names made safe, type and size checked, saved beside the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_upload import FakeUpload

from rag.config import StoreConfig
from ui.uploads import MAX_NAME_CHARS, safe_filename, save_uploads, upload_folder


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\report.PDF", "report.pdf"),
        (".bashrc.md", "bashrc.md"),
        ("Résumé (final).docx", "Resume _final.docx"),
        ("<img src=x onerror=alert(1)>.html", "img src_x onerror_alert_1.html"),
        ("...", "upload"),
        ("", "upload"),
    ],
)
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_safe_filename_keeps_the_suffix_of_long_names() -> None:
    name = safe_filename("x" * 500 + ".txt")
    assert len(name) == MAX_NAME_CHARS and name.endswith(".txt")


def test_upload_folder_sits_beside_the_collection(tmp_path: Path) -> None:
    config = StoreConfig(path=tmp_path, collection="team")
    assert upload_folder(config) == tmp_path / "uploads" / "team"


def test_save_refuses_unsupported_and_oversized_files_and_keeps_the_rest(tmp_path: Path) -> None:
    files = [
        FakeUpload("notes.md", b"# hi"),
        FakeUpload("../notes.md", b"# again"),
        FakeUpload("tool.exe", b"MZ"),
        FakeUpload("big.txt", b"x" * 2000),
    ]
    saved, refused = save_uploads(files, tmp_path / "up", max_bytes=1000)
    assert [p.name for p in saved] == ["notes.md", "notes-2.md"]
    assert [p.read_bytes() for p in saved] == [b"# hi", b"# again"]
    assert [r.path for r in refused] == ["tool.exe", "big.txt"]
    assert "unsupported file type '.exe'" in (refused[0].error or "")
    assert "over the" in (refused[1].error or "")
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == ["notes-2.md", "notes.md"]
