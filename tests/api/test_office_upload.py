"""The API's ``/ingest`` and the app's upload take the office formats, sniffed by content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_upload import FakeUpload
from fastapi.testclient import TestClient
from office_samples import deck_bytes, mail_bytes, workbook_bytes

from rag.api import create_app
from rag.sdk import RAG
from ui.uploads import check_uploads

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_ingest_accepts_a_deck_a_workbook_and_a_mail(
    new_rag: Callable[..., RAG], tmp_path: Path
) -> None:
    files = [
        ("files", ("deck.pptx", deck_bytes())),
        ("files", ("book.xlsx", workbook_bytes())),
        ("files", ("mail.eml", mail_bytes())),
    ]
    with TestClient(create_app(new_rag(), upload_dir=tmp_path / "up")) as client:
        report = client.post("/ingest", files=files).json()
        assert report["ingested"] == 4 and report["failed"] == 0  # the mail's attachment too
        fake = client.post("/ingest", files=[("files", ("fake.pptx", b"plain text"))])
    assert fake.status_code == 415
    assert "content is not a PPTX (not a zip)" in fake.json()["error"]["message"]


def test_the_app_saves_office_uploads_and_refuses_a_mismatch(tmp_path: Path) -> None:
    files = [
        FakeUpload("deck.pptx", deck_bytes()),
        FakeUpload("mail.eml", mail_bytes()),
        FakeUpload("fake.xls", b"not a workbook"),
    ]
    accepted, refused = check_uploads(files, 10**7)
    assert [name for _, name in accepted] == ["deck.pptx", "mail.eml"]
    assert [r.error for r in refused] == [
        "upload 'fake.xls': content is not an XLS (not an OLE compound file)"
    ]
