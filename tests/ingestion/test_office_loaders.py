"""Office formats: the structure each loader keeps, its one-line errors, and no network ever."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from hostile_corpus import docx_bytes
from needs import unavailable
from office_samples import (
    CELL_FACT,
    MAIL_SUBJECT,
    NOTES_FACT,
    RTF_TEXT,
    SLIDE_FACT,
    csv_text,
    deck_bytes,
    epub_bytes,
    legacy_bytes,
    mail_bytes,
    odt_bytes,
    workbook_bytes,
)

from ingestion.chunkers import StructureChunker
from ingestion.loaders import content_mismatch, convert, load_document, partition, sheets
from ingestion.loaders.slides import NOTES_HEADING
from rag.errors import LoaderError
from rag.types import Document, Span, Tokens

REPO = Path(__file__).resolve().parents[2]


class Words:
    """A tokenizer of words and punctuation, enough to chunk without a model."""

    def tokenize(self, text: str) -> Tokens:
        spans = tuple((m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text))
        return Tokens(tuple(range(len(spans))), spans)


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def chunks(doc: Document, size: int = 24) -> list[Span]:
    return StructureChunker(Words(), size).split(doc)


def at(doc: Document, needle: str) -> int:
    offset = doc.text.index(needle)
    return offset


# ---------------------------------------------------------------- slides


def test_pptx_slides_are_pages_titles_headings_and_notes_are_marked(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "deck.pptx", deck_bytes()))
    assert doc.metadata["format"] == "pptx" and doc.metadata["slides"] == 3
    assert len(doc.page_starts) == 3
    assert doc.page_span((at(doc, SLIDE_FACT), at(doc, SLIDE_FACT) + 5)) == (3, 3)
    assert doc.page_span((at(doc, "Sales | 14"), at(doc, "Sales | 14") + 3)) == (2, 2)
    notes = at(doc, NOTES_FACT)
    assert doc.page_span((notes, notes + 3)) == (1, 1)
    assert doc.heading_path(notes) == ("Quarterly results", NOTES_HEADING)
    assert doc.heading_path(at(doc, "Support | 9")) == ("Headcount",)
    assert doc.heading_path(at(doc, SLIDE_FACT)) == ("Slide 3",)  # no title: named by number
    assert doc.page_span((at(doc, "Margins held"), at(doc, "Margins held") + 1)) == (1, 1)
    assert doc.context((at(doc, "Sales"), at(doc, "Support | 9") + 11)) == "Team | People"


def test_ppt_is_converted_by_libreoffice_and_keeps_its_slides(tmp_path: Path) -> None:
    legacy = legacy_bytes(tmp_path, deck_bytes(), ".pptx", "ppt")
    if legacy is None:
        unavailable("LibreOffice (soffice) is not installed")
    doc = load_document(write(tmp_path, "old.ppt", legacy))
    assert doc.metadata["format"] == "ppt" and len(doc.page_starts) == 3
    assert doc.page_span((at(doc, SLIDE_FACT), at(doc, SLIDE_FACT) + 1)) == (3, 3)
    assert NOTES_FACT in doc.text


def test_doc_is_converted_by_libreoffice_and_read_like_docx(tmp_path: Path) -> None:
    word = docx.Document()
    word.add_heading("Annual Summary", 1)
    word.add_paragraph("The old report says revenue doubled.")
    out = io.BytesIO()
    word.save(out)
    legacy = legacy_bytes(tmp_path, out.getvalue(), ".docx", "doc")
    if legacy is None:
        unavailable("LibreOffice (soffice) is not installed")
    doc = load_document(write(tmp_path, "old.doc", legacy))
    assert doc.metadata["format"] == "doc"
    assert [h.title for h in doc.headings] == ["Annual Summary"]
    assert "revenue doubled" in doc.text


def test_without_libreoffice_a_doc_gets_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "soffice", lambda: None)
    compound = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    with pytest.raises(LoaderError) as error:
        load_document(write(tmp_path, "old.doc", compound))
    assert error.value.reason.startswith("a DOC file needs LibreOffice: install LibreOffice")


# ---------------------------------------------------------------- sheets


def test_xlsx_sheets_are_pages_and_headings_and_rows_keep_their_header(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "book.xlsx", workbook_bytes()))
    assert doc.metadata["format"] == "xlsx"
    assert [(h.level, h.title) for h in doc.headings] == [(1, "Revenue"), (1, "Staff")]
    assert len(doc.page_starts) == 2  # the blank sheet has no page
    row = " | ".join(CELL_FACT)
    assert doc.page_span((at(doc, row), at(doc, row) + 1)) == (1, 1)
    assert doc.page_span((at(doc, "Ada Lovelace"), at(doc, "Ada Lovelace") + 1)) == (2, 2)
    spans = chunks(doc)
    assert len(spans) > 4
    revenue = [s for s in spans if doc.heading_path(s[0]) == ("Revenue",)]
    for start, end in revenue:
        lines = doc.text[start:end].split("\n")
        rows = [line for line in lines if line not in ("", "Revenue")]
        assert all(
            re.fullmatch(r"Region( \d+)? \| \w+ \| [\d,]+|Region \| City \| Units", r) for r in rows
        ), rows  # whole rows only
        header_inside = "Region | City | Units" in rows
        assert doc.context((start, end)) == ("" if header_inside else "Region | City | Units")
    assert sum(doc.context(s) == "Region | City | Units" for s in revenue) >= 3


def test_a_workbook_over_the_cell_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheets, "MAX_CELLS", 50)
    with pytest.raises(LoaderError) as error:
        load_document(write(tmp_path, "book.xlsx", workbook_bytes()))
    assert error.value.reason == "too many cells (over 50; the limit is 50): split the sheet"


def test_an_empty_workbook_has_no_text(tmp_path: Path) -> None:
    import openpyxl

    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    with pytest.raises(LoaderError) as error:
        load_document(write(tmp_path, "empty.xlsx", out.getvalue()))
    assert error.value.reason == "no text found (every sheet is empty)"


def test_csv_keeps_quoted_commas_and_its_header_row(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "cities.csv", csv_text()))
    assert doc.text == "city | population, 2020\nOslo | 709,037\nBergen | 285,911"
    assert doc.context((at(doc, "Oslo"), len(doc.text))) == "city | population, 2020"
    assert doc.context((0, len(doc.text))) == ""  # the header is inside already


def test_tsv_is_split_on_tabs(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "t.tsv", "name\tcity, state\nAda\tLondon, UK\n"))
    assert doc.text == "name | city, state\nAda | London, UK"


# ---------------------------------------------------------------- mail


def test_eml_headers_are_metadata_and_text_and_attachments_are_linked(tmp_path: Path) -> None:
    path = write(tmp_path, "mail.eml", mail_bytes({"glaze.txt": b"Celadon needs iron.\n"}))
    doc = load_document(path)
    meta = doc.metadata
    assert meta["subject"] == MAIL_SUBJECT and meta["from"] == "Ada Lovelace <ada@example.com>"
    assert meta["to"] == "bob@example.com" and meta["cc"] == "carol@example.com"
    assert meta["date"] == "Tue, 02 Dec 2025 10:00:00 +0000" and meta["attachments"] == [
        "glaze.txt"
    ]
    assert doc.text.startswith("From: Ada Lovelace <ada@example.com>\nTo: bob@example.com\n")
    assert f"Subject: {MAIL_SUBJECT}\n\nHello Bob," in doc.text
    assert doc.headings[0].title == MAIL_SUBJECT
    (attached,) = doc.attachments
    assert attached.source == f"{doc.source}#glaze.txt" and attached.id != doc.id
    assert attached.metadata["attached_to"] == doc.id and attached.text == "Celadon needs iron.\n"


def test_a_bad_attachment_is_reported_and_the_mail_still_loads(tmp_path: Path) -> None:
    files = {"broken.pptx": b"not a deck", "photo.png": b"\x89PNG", "notes.md": b"# Kiln\n"}
    doc = load_document(write(tmp_path, "mail.eml", mail_bytes(files)))
    assert doc.failed == (("broken.pptx", "not a readable PPTX (not a zip package)"),)
    assert [a.metadata["name"] for a in doc.attachments] == ["notes.md"]
    assert doc.metadata["attachments"] == ["broken.pptx", "photo.png", "notes.md"]


# ---------------------------------------------------------------- e-books and documents


def test_epub_keeps_headings_lists_and_tables(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "guide.epub", epub_bytes()))
    assert [(h.level, h.title) for h in doc.headings] == [(1, "Owls"), (2, "Diet")]
    assert "- Tawny owl\n- Snowy owl" in doc.text
    assert doc.heading_path(at(doc, "Voles | 60%")) == ("Owls", "Diet")
    assert doc.context((at(doc, "Voles"), len(doc.text))) == "Prey | Share"


def test_odt_keeps_headings_lists_and_tables(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "ferns.odt", odt_bytes()))
    assert [h.title for h in doc.headings] == ["Ferns"]
    assert "Maidenhair" in doc.text and "Bracken | 2 m" in doc.text
    assert doc.heading_path(at(doc, "damp soil")) == ("Ferns",)


def test_rtf_text_and_list(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "tides.rtf", RTF_TEXT))
    assert "The spring tide peaks at dawn." in doc.text and "Neap tide" in doc.text


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("noise.pptx", b"\x13\x99random", "not a readable PPTX (not a zip package)"),
        ("plain.pptx", "just text", "not a readable PPTX (not a zip package)"),
        ("noise.xlsx", b"\x00\x01\x02", "not a readable XLSX (not a zip package)"),
        ("noise.xls", b"\x00\x01\x02", "not a readable XLS (not an OLE compound file)"),
        ("noise.msg", b"\x00\x01\x02", "not a readable MSG (not an OLE compound file)"),
        ("noise.ppt", b"\x00\x01\x02", "not a readable PPT (not an OLE compound file)"),
        ("noise.epub", b"\x00\x01\x02", "not a readable EPUB (not a zip package)"),
        ("noise.eml", b"\x00\x01\x02", "binary data, not a mail"),
        ("words.eml", "no headers at all", "not a mail (no From, To, Date or Subject header)"),
        ("noise.rtf", b"\x00\x01\x02", "not a readable RTF (no {\\rtf header)"),
        ("noise.csv", b"\x00\x01\x02", "binary data, not text"),
        ("empty.pptx", b"", "empty file"),
    ],
)
def test_bad_office_files_get_one_line_errors(
    tmp_path: Path, name: str, content: bytes | str, reason: str
) -> None:
    with pytest.raises(LoaderError) as error:
        load_document(write(tmp_path, name, content))
    assert error.value.reason == reason and "\n" not in str(error.value)


def test_a_plain_zip_named_pptx_is_unreadable(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("hello.txt", "hi")
    with pytest.raises(LoaderError) as error:
        load_document(write(tmp_path, "fake.pptx", out.getvalue()))
    assert error.value.reason.startswith("not a readable PPTX (")


def test_a_docx_bomb_named_odt_is_refused_before_unpacking(tmp_path: Path) -> None:
    from ingestion.loaders import packages

    package = docx_bytes(["x" * 5000])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(packages, "MAX_UNPACKED_BYTES", 1000)
        with pytest.raises(LoaderError) as error:
            load_document(write(tmp_path, "bomb.odt", package))
    assert error.value.reason.startswith("unpacks to ")


@pytest.mark.parametrize(
    ("name", "head", "fits"),
    [
        ("a.pptx", b"PK\x03\x04", True),
        ("a.pptx", b"text", False),
        ("a.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", True),  # password-protected
        ("a.xls", b"PK\x03\x04", False),
        ("a.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", True),
        ("a.rtf", b"{\\rtf1\\ansi", True),
        ("a.rtf", b"<html>", False),
        ("a.eml", b"From: a@b.c\r\n", True),
        ("a.csv", b"a,b\x00", False),
    ],
)
def test_uploads_of_the_new_types_are_sniffed(name: str, head: bytes, fits: bool) -> None:
    assert (content_mismatch(name, head) is None) == fits


# ---------------------------------------------------------------- offline, lazily


def test_unstructured_is_imported_only_when_an_office_file_is_met(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("plain words\n")
    (tmp_path / "b.csv").write_text("a,b\n1,2\n")
    script = (
        "import sys; from pathlib import Path\n"
        "import rag.cli, rag.api, ingestion.pipeline\n"
        "from ingestion.loaders import load_document\n"
        f"load_document(Path({str(tmp_path / 'a.txt')!r}))\n"
        "print('unstructured' in sys.modules)\n"
        f"load_document(Path({str(tmp_path / 'b.csv')!r}))\n"
        "import os\n"
        "from unstructured.nlp import tokenize\n"
        "print('unstructured' in sys.modules, os.environ['SCARF_NO_ANALYTICS'],\n"
        "      os.environ['UNSTRUCTURED_DISABLE_NOTICE'], tokenize._get_nlp().pipe_names)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False", "True true 1 ['sentencizer']"]


def test_unstructured_can_never_download_a_spacy_model() -> None:
    partition.partitioner("text", "partition_text")
    from unstructured.nlp import tokenize

    with pytest.raises(partition.ModelDownloadRefused):
        tokenize._install_spacy_model()
    assert tokenize._get_nlp().pipe_names == ["sentencizer"]


_AUDITED = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request")
_events: list[tuple[str, object]] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _events is not None and (event in _AUDITED or event == "subprocess.Popen"):
        _events.append((event, args[0] if event == "subprocess.Popen" else args[1:2]))


def test_partitioning_every_format_attempts_no_connection(tmp_path: Path) -> None:
    """Python's audit hooks see every socket, lookup and process, however it is opened."""
    global _events
    files = {
        "deck.pptx": deck_bytes(),
        "book.xlsx": workbook_bytes(),
        "cities.csv": csv_text().encode(),
        "t.tsv": b"a\tb\n1\t2\n",
        "mail.eml": mail_bytes(),
        "guide.epub": epub_bytes(),
        "ferns.odt": odt_bytes(),
        "tides.rtf": RTF_TEXT.encode(),
    }
    legacy = legacy_bytes(tmp_path, deck_bytes(), ".pptx", "ppt")
    if legacy is not None:
        files["old.ppt"] = legacy
    paths = [write(tmp_path, name, content) for name, content in files.items()]
    sys.addaudithook(_audit)
    _events = []
    try:
        loaded = [load_document(path) for path in paths]
    finally:
        seen, _events = _events, None
    assert all(doc.text for doc in loaded)
    assert [e for e in seen if e[0] != "subprocess.Popen"] == []
    programs = {Path(str(program)).name for _, program in seen}
    assert programs <= {"pandoc", "soffice", "libreoffice"}, programs  # never nvidia-smi
    assert "pandoc" in programs  # EPUB, ODT and RTF went through it
