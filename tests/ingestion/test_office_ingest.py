"""Office files end to end: ingested with the network blocked, answered with exact citations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from office_samples import (
    CELL_FACT,
    MAIL_SUBJECT,
    RTF_TEXT,
    SLIDE_FACT,
    csv_text,
    deck_bytes,
    epub_bytes,
    mail_bytes,
    odt_bytes,
    workbook_bytes,
)

from ingestion.pipeline import IngestReport
from rag import RAG, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.serialize import chunk_json
from rag.types import Citation

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def office(
    tmp_path_factory: pytest.TempPathFactory, encoder: TransformerEncoder
) -> Iterator[tuple[RAG, Path, IngestReport]]:
    """One folder of every office sample, ingested once (the suite's socket block is on)."""
    root = tmp_path_factory.mktemp("office")
    folder = root / "docs"
    folder.mkdir()
    files = {
        "deck.pptx": deck_bytes(),
        "book.xlsx": workbook_bytes(),
        "cities.csv": csv_text().encode(),
        "mail.eml": mail_bytes(),
        "guide.epub": epub_bytes(),
        "ferns.odt": odt_bytes(),
        "tides.rtf": RTF_TEXT.encode(),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    rag = RAG(RAGConfig(store=StoreConfig(path=root / "store")), encoder=encoder)
    try:
        yield rag, folder, rag.ingest([folder])
    finally:
        rag.close()


def cited(citations: tuple[Citation, ...], name: str) -> Citation:
    found = [c for c in citations if Path(c.source).name == name]
    assert found, [c.source for c in citations]
    return found[0]


def test_every_sample_and_the_attachment_are_ingested(
    office: tuple[RAG, Path, IngestReport],
) -> None:
    _, folder, report = office
    statuses = {Path(r.path).name: r.status for r in report.files}
    assert statuses == {
        name: "ingested"
        for name in (
            "book.xlsx",
            "cities.csv",
            "deck.pptx",
            "ferns.odt",
            "guide.epub",
            "mail.eml",
            "mail.eml#glaze.txt",
            "tides.rtf",
        )
    }, report.failed


def test_a_question_about_a_slide_cites_its_slide(office: tuple[RAG, Path, IngestReport]) -> None:
    rag, _, _ = office
    answer = rag.ask("When is the zebra launch?")
    assert SLIDE_FACT in answer.text
    citation = cited(answer.citations, "deck.pptx")
    assert citation.page_span == (3, 3) and SLIDE_FACT in citation.text


def test_a_question_about_a_cell_cites_its_sheet_and_row(
    office: tuple[RAG, Path, IngestReport],
) -> None:
    rag, _, _ = office
    answer = rag.ask("How many units were sold in Hammerfest?")
    row = " | ".join(CELL_FACT)
    assert row in answer.text
    citation = cited(answer.citations, "book.xlsx")
    assert citation.page_span == (1, 1) and row in citation.text
    hit = next(h for h in answer.hits if row in h.chunk.text)
    assert hit.chunk.headings == ("Revenue",)
    assert hit.chunk.context in ("", "Region | City | Units")


def test_a_question_about_a_mail_subject_cites_the_mail(
    office: tuple[RAG, Path, IngestReport],
) -> None:
    rag, _, _ = office
    answer = rag.ask("What subject did the email about the kiln have?")
    assert MAIL_SUBJECT in answer.text
    citation = cited(answer.citations, "mail.eml")
    assert f"Subject: {MAIL_SUBJECT}" in citation.text


def test_chunks_keep_the_table_header_and_the_mail_link(
    office: tuple[RAG, Path, IngestReport],
) -> None:
    rag, folder, _ = office
    chunks = [h.chunk for h in rag.search("anything", k=rag.store.count())]
    rows = [c for c in chunks if c.source.endswith("book.xlsx") and c.headings == ("Revenue",)]
    assert sum(c.context == "Region | City | Units" for c in rows) >= 1
    under_header = next(c for c in rows if c.context)
    assert chunk_json(under_header)["context"] == "Region | City | Units"  # CLI and API output
    for chunk in chunks:
        assert chunk.context == "" or not chunk.text.startswith(chunk.context)
    mail = next(c for c in chunks if c.source == str((folder / "mail.eml").resolve()))
    attached = next(c for c in chunks if c.source.endswith("mail.eml#glaze.txt"))
    assert attached.metadata["document"]["attached_to"] == mail.doc_id
    assert mail.metadata["document"]["subject"] == MAIL_SUBJECT


def test_a_second_ingest_changes_nothing(office: tuple[RAG, Path, IngestReport]) -> None:
    rag, folder, _ = office
    again = rag.ingest([folder])
    assert {r.status for r in again.files} == {"unchanged"} and len(again.files) == 8
