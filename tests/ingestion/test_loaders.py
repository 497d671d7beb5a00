"""Loaders: what users rely on from each format, and the one-line errors for bad files."""

from __future__ import annotations

import codecs
import hashlib
import os
import random
from pathlib import Path

import docx
import pypdfium2 as pdfium
import pytest
from hostile_corpus import encrypted_pdf, pdf_bytes, text_pdf
from hypothesis import given
from hypothesis import strategies as st

from ingestion.loaders import (
    LOADERS,
    SUPPORTED_EXTENSIONS,
    DocxLoader,
    HtmlLoader,
    MarkdownLoader,
    PdfLoader,
    TextLoader,
    common,
    content_mismatch,
    load_document,
    packages,
)
from ingestion.loaders import html as html_loader
from ingestion.loaders.pdf import PAGE_SEPARATOR, join_pages
from rag.errors import LoaderError, RagError
from rag.protocols import Loader
from rag.types import Document, document_id

# ---------------------------------------------------------------- helpers


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def load_error(path: Path) -> LoaderError:
    with pytest.raises(LoaderError) as info:
        load_document(path)
    error = info.value
    assert error.path == str(path)
    assert "\n" not in str(error)
    return error


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    """Write a PDF with one text line per string; an empty list makes a blank page."""
    path.write_bytes(pdf_bytes(text_pdf(pages)))
    return path


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Quarterly report"
    document.add_heading("Annual Summary", 0)
    document.add_paragraph("Opening paragraph.")
    document.add_heading("Revenue", 1)
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate([["Region", "2022", "2023"], ["Europe", "10", "12"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("")
    document.add_heading("Outlook details", 2)
    document.add_paragraph("Closing words.")
    document.save(str(path))
    return path


# ---------------------------------------------------------------- registry and identity


def test_every_loader_satisfies_the_protocol_and_extensions_are_complete() -> None:
    assert all(isinstance(loader, Loader) for loader in LOADERS)
    assert set(SUPPORTED_EXTENSIONS) == {
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".doc",
        ".pptx",
        ".ppt",
        ".xlsx",
        ".xls",
        ".csv",
        ".tsv",
        ".eml",
        ".msg",
        ".epub",
        ".odt",
        ".rtf",
    }


def test_unsupported_extension_names_it_and_lists_the_supported_ones(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "data.xyz", "hello"))
    assert error.reason.startswith("unsupported file type '.xyz' (supported: ")
    assert ".pdf" in error.reason and ".docx" in error.reason
    assert isinstance(error, RagError)


def test_dispatch_ignores_suffix_case(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "NOTES.MD", "# Upper\n\nbody\n"))
    assert doc.metadata["format"] == "markdown"
    assert doc.headings[0].title == "Upper"


def test_document_identity_hash_and_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "first line\nsecond line\n")
    doc = load_document(path)
    assert doc.source == str(path.resolve())
    assert doc.id == document_id(str(path.resolve()))
    assert doc.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.metadata["format"] == "text" and doc.metadata["name"] == "notes.txt"
    assert doc.text == "first line\nsecond line\n"
    assert doc.page_starts == () and doc.page_span((0, 3)) is None

    path.write_text("changed\n")
    changed = load_document(path)
    assert changed.id == doc.id, "a new version of a file keeps its document id"
    assert changed.content_hash != doc.content_hash


def test_relative_and_absolute_paths_give_the_same_document_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "a.md", "# A\n")
    monkeypatch.chdir(tmp_path)
    relative = load_document(Path("a.md"))
    absolute = load_document(tmp_path / "a.md")
    assert relative.id == absolute.id
    assert relative.source == absolute.source == str((tmp_path / "a.md").resolve())


# ---------------------------------------------------------------- reading errors


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.pdf", "empty.docx"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    assert load_error(write(tmp_path, name, b"")).reason == "empty file"


@pytest.mark.parametrize("name", ["blank.txt", "blank.md", "blank.html"])
def test_whitespace_only_file_has_no_text(tmp_path: Path, name: str) -> None:
    content = "<html><body> <p>  </p>\n</body></html>" if name.endswith("html") else " \n\t\n"
    assert load_error(write(tmp_path, name, content)).reason == "no text found"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert load_error(tmp_path / "missing.txt").reason == "file not found"
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert load_error(folder).reason == "is a directory, not a file"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "secret.txt", "hidden")
    if os.name == "posix" and os.geteuid() != 0:
        path.chmod(0)  # root reads anything: then fake the refusal instead
    else:

        def refuse(file: object, *args: object, **kwargs: object) -> int:
            raise PermissionError(13, "Permission denied", str(file))

        monkeypatch.setattr(os, "open", refuse)
    try:
        assert load_error(path).reason == "cannot read file (permission denied)"
    finally:
        path.chmod(0o600)


# ---------------------------------------------------------------- text decoding


@pytest.mark.parametrize("name", ["blob.txt", "blob.md", "blob.html"])
def test_binary_data_is_refused(tmp_path: Path, name: str) -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4096)) + b"\x00\x00"
    assert load_error(write(tmp_path, name, data)).reason == "binary data, not text"


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    data = "café crème brûlée\n".encode("latin-1") * 20
    assert load_error(write(tmp_path, "latin.txt", data)).reason == "not valid UTF-8 text"


def test_a_few_bad_bytes_are_replaced(tmp_path: Path) -> None:
    data = b"x" * 2000 + b"\xff" + b"y" * 2000
    doc = load_document(write(tmp_path, "mostly.txt", data))
    assert doc.text == "x" * 2000 + "\ufffd" + "y" * 2000


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_bom_decides_the_encoding(tmp_path: Path, encoding: str) -> None:
    text = "Größe: 10 €\nZeile zwei\n"
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    doc = load_document(write(tmp_path, "bom.txt", bom + text.encode(encoding)))
    assert doc.text == text


def test_line_ends_become_lf(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "dos.txt", b"one\r\ntwo\rthree\n"))
    assert doc.text == "one\ntwo\nthree\n"


# ---------------------------------------------------------------- markdown


def test_markdown_headings_point_at_their_lines(tmp_path: Path) -> None:
    source = (
        "---\ntitle: Front matter\n---\n"
        "# Guide\n\nIntro text.\n\n"
        "Setup steps\n-----------\n\nInstall it.\n\n"
        "```\n# not a heading\n```\n\n"
        "### Deep *dive*\r\nDetails.\n"
    )
    doc = load_document(write(tmp_path, "guide.md", source))
    assert doc.text == source.replace("\r\n", "\n")
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "Guide"),
        (2, "Setup steps"),
        (3, "Deep dive"),
    ]
    lines = ["# Guide", "Setup steps\n---", "### Deep *dive*"]
    for heading, line in zip(doc.headings, lines, strict=True):
        assert doc.text[heading.start :].startswith(line)
    assert doc.metadata["title"] == "Guide"
    assert doc.heading_path(doc.text.index("Details")) == ("Guide", "Setup steps", "Deep dive")


# ---------------------------------------------------------------- html

PAGE = """<!DOCTYPE html>
<html><head><title> Pricing   page </title><style>p { color: red }</style>
<script>var secret = "SCRIPT-SECRET";</script></head>
<body><noscript>NOSCRIPT-TEXT</noscript><!-- COMMENT-TEXT -->
<h1>Plans and <em>prices</em></h1>
<p>Choose   a plan
  that fits.</p><div>First line<br>Second line</div>
<table><tr><th>Plan</th><th>Price</th></tr><tr><td><p>Basic</p></td><td>10 &euro;</td></tr></table>
<h2>FAQ</h2><ul><li>One</li><li>Two</li></ul>
<pre>  keep
    indent</pre><template><p>TEMPLATE-TEXT</p></template>
<script>document.write("SCRIPT-BODY")</script>
</body></html>"""


def test_html_text_is_readable_and_scripts_are_gone(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "page.html", PAGE))
    for hidden in ("SECRET", "SCRIPT-BODY", "NOSCRIPT", "COMMENT", "TEMPLATE", "color"):
        assert hidden not in doc.text
    lines = doc.text.split("\n")
    assert "Choose a plan that fits." in lines
    assert "First line" in lines and "Second line" in lines
    assert "Plan | Price" in lines and "Basic | 10 €" in lines
    assert "One" in lines and "Two" in lines
    assert "  keep\n    indent" in doc.text
    assert doc.metadata["title"] == "Pricing page"
    assert doc.metadata["format"] == "html"


def test_html_headings_point_into_the_text(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "page.htm", PAGE))
    assert [(h.level, h.title) for h in doc.headings] == [(1, "Plans and prices"), (2, "FAQ")]
    for heading in doc.headings:
        assert doc.text[heading.start :].startswith(heading.title)
    assert doc.heading_path(doc.text.index("Two")) == ("Plans and prices", "FAQ")


def test_deeply_nested_html_loads(tmp_path: Path) -> None:
    depth = 5000
    html = "<html><body>" + "<div>" * depth + "deep text" + "</div>" * depth + "</body></html>"
    doc = load_document(write(tmp_path, "deep.html", html))
    assert doc.text == "deep text"


def test_html_declared_charset_is_used_when_not_utf8(tmp_path: Path) -> None:
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>café crème</p></body></html>'
    doc = load_document(write(tmp_path, "old.html", html.encode("latin-1")))
    assert doc.text == "café crème"


# ---------------------------------------------------------------- docx


def test_docx_keeps_body_order_tables_and_headings(tmp_path: Path) -> None:
    doc = DocxLoader().load(make_docx(tmp_path / "report.docx"))
    assert doc.text.split("\n\n") == [
        "Annual Summary",
        "Opening paragraph.",
        "Revenue",
        "Region | 2022 | 2023\nEurope | 10 | 12",
        "Outlook details",
        "Closing words.",
    ]
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "Annual Summary"),
        (1, "Revenue"),
        (2, "Outlook details"),
    ]
    for heading in doc.headings:
        assert doc.text[heading.start :].startswith(heading.title)
    assert doc.metadata["title"] == "Quarterly report"
    assert doc.metadata["format"] == "docx"


def test_docx_merged_cells_appear_once(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Wide"
    table.cell(0, 2).text = "Narrow"
    document.save(str(tmp_path / "merged.docx"))
    assert load_document(tmp_path / "merged.docx").text == "Wide | Narrow"


def test_corrupt_docx(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "good.docx").read_bytes()
    truncated = write(tmp_path, "truncated.docx", data[:1000])
    assert load_error(truncated).reason.startswith("not a readable DOCX (")
    plain = write(tmp_path, "plain.docx", "just text, not a zip")
    assert load_error(plain).reason.startswith("not a readable DOCX (")


def test_docx_without_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("   ")
    document.save(str(tmp_path / "blank.docx"))
    assert load_error(tmp_path / "blank.docx").reason == "no text found"


# ---------------------------------------------------------------- pdf (synthetic)


def test_pdf_pages_map_back_to_offsets(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "three.pdf", [["Alpha one", "Alpha two"], [], ["Gamma"]])
    doc = PdfLoader().load(path)
    assert doc.text == "Alpha one\nAlpha two" + PAGE_SEPARATOR + PAGE_SEPARATOR + "Gamma"
    assert len(doc.page_starts) == 3 and doc.page_starts[0] == 0
    gamma = doc.text.index("Gamma")
    assert doc.page_starts[2] == gamma
    assert doc.page_span((gamma, gamma + 5)) == (3, 3)
    assert doc.page_span((0, gamma + 5)) == (1, 3)
    assert doc.metadata["pages"] == 3 and doc.metadata["format"] == "pdf"


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [[], []])
    assert load_error(path).reason == "no text layer (scanned PDF?)"


def test_non_pdf_named_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "fake.pdf", "<html>this is not a PDF</html>")
    assert load_error(path).reason.startswith("not a readable PDF (")


def test_encrypted_pdf(tmp_path: Path) -> None:
    assert load_error(write(tmp_path, "locked.pdf", encrypted_pdf())).reason == "encrypted PDF"


def test_truncated_real_pdf(tmp_path: Path, financebench_pdfs: Path) -> None:
    head = (financebench_pdfs / "3M_2018_10K.pdf").read_bytes()[:1000]
    assert load_error(write(tmp_path, "cut.pdf", head)).reason.startswith("not a readable PDF (")


@given(st.lists(st.text(alphabet="ab \n", max_size=8), min_size=1, max_size=6))
def test_join_pages_puts_every_page_where_its_start_says(pages: list[str]) -> None:
    text, starts = join_pages(pages)
    doc = Document(id="d", source="s", text=text, content_hash="h", page_starts=starts)
    for number, (page, start) in enumerate(zip(pages, starts, strict=True), 1):
        assert text[start : start + len(page)] == page
        if page:
            assert doc.page_span((start, start + len(page))) == (number, number)


# ---------------------------------------------------------------- pdf (real filings)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["3M_2018_10K.pdf", "AMCOR_2023Q2_10Q.pdf"])
def test_real_filing_pages_match_pdfium(financebench_pdfs: Path, name: str) -> None:
    path = financebench_pdfs / name
    doc = load_document(path)
    with pdfium.PdfDocument(str(path)) as pdf:
        pages = [pdf[i].get_textpage().get_text_bounded() for i in range(len(pdf))]
    assert len(doc.page_starts) == len(pages) == doc.metadata["pages"] > 1
    assert doc.page_starts[0] == 0
    assert not any(ch in doc.text for ch in "\x00\x02\r")
    for start, raw in zip(doc.page_starts, pages, strict=True):
        expected = raw.replace("\x00", "").replace("\x02", "-").replace("\r\n", "\n")
        assert doc.text[start : start + len(expected)] == expected


@pytest.mark.slow
def test_cash_flow_statement_is_page_60_of_3m_2018(financebench_pdfs: Path) -> None:
    doc = load_document(financebench_pdfs / "3M_2018_10K.pdf")
    start, end = doc.page_starts[59], doc.page_starts[60]
    page = doc.text[start:end]
    assert "Cash Flow" in page
    at = start + page.index("Cash Flow")
    assert doc.page_span((at, at + 20)) == (60, 60)
    assert doc.page_span((at, doc.page_starts[61] + 5)) == (60, 62)
    # a table row stays on one line: label and the three years' figures
    assert "\nDepreciation and amortization 1,488 1,544 1,474\n" in page
    assert "Non-GAAP" in doc.text  # PDFium's U+0002 hyphen is restored


def test_loaders_can_be_used_directly(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.md", "# Heading\n")
    assert TextLoader().load(path).headings == ()
    assert MarkdownLoader().load(path).headings[0].title == "Heading"
    assert HtmlLoader().load(write(tmp_path, "x.html", "<p>hi</p>")).text == "hi"


# ---------------------------------------------------------------- bounds and odd files


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    reason = load_error(tmp_path / "pipe.txt").reason
    assert reason == "not a regular file (a pipe, socket or device)"


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with open(path, "wb") as out:
        out.truncate(common.MAX_TEXT_FILE_BYTES + 1)
    assert load_error(path).reason == "too large (16.0 MB; the limit is 16 MB)"
    pdf = tmp_path / "huge.pdf"
    with open(pdf, "wb") as out:
        out.truncate(common.MAX_FILE_BYTES + 1)
    assert load_error(pdf).reason == "too large (64.0 MB; the limit is 64 MB)"


def test_too_much_text_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_TEXT_CHARS", 10)
    reason = load_error(write(tmp_path, "long.txt", "eleven char")).reason
    assert reason == "too much text (11 characters; the limit is 10): split the document"


def test_a_docx_that_unpacks_too_far_is_refused_before_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = docx.Document()
    document.add_paragraph("all work and no play " * 100_000)  # 2 MB of XML, zipped small
    path = tmp_path / "report.docx"
    document.save(str(path))
    monkeypatch.setattr(packages, "MAX_UNPACKED_BYTES", 1024 * 1024)
    opened: list[object] = []
    monkeypatch.setattr(docx, "Document", lambda *a: opened.append(a))
    reason = load_error(path).reason
    assert reason.startswith("unpacks to ") and reason.endswith("over the 1 MB limit (a zip bomb?)")
    assert opened == []


def test_a_parser_crash_becomes_a_one_line_loader_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(soup: object) -> None:
        raise RecursionError("maximum recursion depth exceeded\nwhile parsing")

    monkeypatch.setattr(html_loader, "html_to_text", explode)
    reason = load_error(write(tmp_path, "page.html", "<p>hi</p>")).reason
    assert (
        reason
        == "could not be read (RecursionError: maximum recursion depth exceeded while parsing)"
    )


@pytest.mark.parametrize(
    ("name", "head", "reason"),
    [
        ("a.pdf", b"%PDF-1.7\n", None),
        ("a.pdf", b"GIF89a", "content is not a PDF (no %PDF- header)"),
        ("a.docx", b"PK\x03\x04rest", None),
        ("a.docx", b"%PDF-", "content is not a DOCX (not a zip)"),
        ("a.md", "Größe 😀".encode(), None),
        ("a.txt", codecs.BOM_UTF16_LE + "hi".encode("utf-16-le"), None),
        ("a.html", b"\x00\x01binary", "content is binary, not text"),
        ("a.txt", b"", None),
    ],
)
def test_content_mismatch(name: str, head: bytes, reason: str | None) -> None:
    assert content_mismatch(name, head) == reason
