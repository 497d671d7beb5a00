"""Small office files made on the fly: a deck, a workbook, CSV/TSV, a mail, EPUB, ODT, RTF."""

from __future__ import annotations

import email.message
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pptx
from pptx.util import Inches

SLIDE_FACT = "The zebra launch is set for March"
"""On slide 3 of ``deck_bytes``, which has no title."""
NOTES_FACT = "Mention the Berlin office"
"""The speaker notes of slide 1."""
CELL_FACT = ("Region 17", "Hammerfest", "4,812")
"""Row 18 of the ``Revenue`` sheet: region, city, units (columns Region | City | Units)."""
MAIL_SUBJECT = "Kiln firing schedule"


def deck_bytes(extra_slides: int = 0) -> bytes:
    """Three slides: a titled bullet slide with notes, a table slide, an untitled text slide.

    ``extra_slides`` more titled slides of three bullet lines follow (for benchmarks).
    """
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Quarterly results"
    body = first.placeholders[1].text_frame
    body.text = "Revenue grew 12 percent over the year"
    body.add_paragraph().text = "Margins held steady"
    first.notes_slide.notes_text_frame.text = NOTES_FACT
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Headcount"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(4), Inches(2)).table
    for r, row in enumerate([["Team", "People"], ["Sales", "14"], ["Support", "9"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    third = deck.slides.add_slide(deck.slide_layouts[6])
    box = third.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    box.text_frame.text = SLIDE_FACT
    for n in range(extra_slides):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Topic {n}"
        frame = slide.placeholders[1].text_frame
        frame.text = f"Point one of topic {n} explains the plan"
        frame.add_paragraph().text = "Point two lists the risks and who owns them"
        frame.add_paragraph().text = "Point three says what happens next quarter"
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def workbook_bytes(rows: int = 40) -> bytes:
    """Sheets ``Revenue`` (a header row and ``rows`` rows), ``Staff`` and an empty ``Blank``."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Revenue"
    sheet.append(["Region", "City", "Units"])
    cities = ["Oslo", "Bergen", "Narvik", "Tromsø", "Bodø"]
    for i in range(rows):
        if f"Region {i}" == CELL_FACT[0]:
            sheet.append(list(CELL_FACT))
        else:
            sheet.append([f"Region {i}", cities[i % len(cities)], f"{100 + 7 * i}"])
    staff = book.create_sheet("Staff")
    staff.append(["Name", "Role"])
    staff.append(["Ada Lovelace", "Analyst"])
    book.create_sheet("Blank")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def big_workbook_bytes(cells: int) -> bytes:
    """One sheet of about ``cells`` numeric cells, 20 columns wide (written in streaming mode)."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Big")
    for r in range(cells // 20):
        sheet.append([r * 20 + c for c in range(20)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text() -> str:
    return 'city,"population, 2020"\nOslo,"709,037"\nBergen,"285,911"\n'


def filler(paragraphs: int) -> list[str]:
    """``paragraphs`` distinct sentences of plain prose, for sizing benchmark files."""
    return [
        f"Paragraph {n} describes step {n} of the field survey in plain words."
        for n in range(paragraphs)
    ]


def mail_bytes(attachments: dict[str, bytes] | None = None, paragraphs: int = 0) -> bytes:
    """A plain-text mail with a subject, and by default one text attachment."""
    message = email.message.EmailMessage()
    message["From"] = "Ada Lovelace <ada@example.com>"
    message["To"] = "bob@example.com"
    message["Cc"] = "carol@example.com"
    message["Subject"] = MAIL_SUBJECT
    message["Date"] = "Tue, 02 Dec 2025 10:00:00 +0000"
    body = ["Hello Bob,", "The kiln fires on Thursday at noon.", *filler(paragraphs), "Ada"]
    message.set_content("\n\n".join(body) + "\n")
    files = {"glaze.txt": b"Glaze recipes: celadon needs iron oxide.\n"}
    for name, content in (files if attachments is None else attachments).items():
        message.add_attachment(
            content, maintype="application", subtype="octet-stream", filename=name
        )
    return message.as_bytes()


def _zip(entries: dict[str, str], mimetype: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), mimetype)  # first and stored, as required
        for name, text in entries.items():
            package.writestr(name, text)
    return out.getvalue()


def epub_bytes(paragraphs: int = 0) -> bytes:
    """An EPUB 3 book of one chapter: two headings, a list and a table."""
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:identifier id="id">owls</dc:identifier><dc:title>Field guide</dc:title>'
        "<dc:language>en</dc:language></metadata><manifest>"
        '<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        '</manifest><spine><itemref idref="c1"/></spine></package>'
    )
    nav = (
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>'
        '<li><a href="c1.xhtml">Owls</a></li></ol></nav></body></html>'
    )
    chapter = (
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Owls'
        "</title></head><body><h1>Owls</h1><p>Barn owls hunt at dusk over open fields.</p>"
        "<ul><li>Tawny owl</li><li>Snowy owl</li></ul><h2>Diet</h2><table><tr><th>Prey</th>"
        "<th>Share</th></tr><tr><td>Voles</td><td>60%</td></tr></table>"
        + "".join(f"<p>{p}</p>" for p in filler(paragraphs))
        + "</body></html>"
    )
    entries = {
        "META-INF/container.xml": container,
        "OEBPS/content.opf": opf,
        "OEBPS/nav.xhtml": nav,
        "OEBPS/c1.xhtml": chapter,
    }
    return _zip(entries, "application/epub+zip")


_ODF = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2"'
)


def odt_bytes(paragraphs: int = 0) -> bytes:
    """An OpenDocument text: a heading, a paragraph, a list and a table."""
    manifest = (
        '<?xml version="1.0"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    styles = (
        f'<?xml version="1.0"?><office:document-styles {_ODF}><office:styles>'
        '<style:style style:name="Heading_20_1" style:display-name="Heading 1" '
        'style:family="paragraph"/></office:styles></office:document-styles>'
    )
    cell = "<table:table-cell><text:p>{}</text:p></table:table-cell>"
    rows = "".join(
        "<table:table-row>" + "".join(cell.format(v) for v in row) + "</table:table-row>"
        for row in (["Fern", "Height"], ["Bracken", "2 m"])
    )
    content = (
        f'<?xml version="1.0"?><office:document-content {_ODF}><office:body><office:text>'
        '<text:h text:style-name="Heading_20_1" text:outline-level="1">Ferns</text:h>'
        "<text:p>Ferns like shade and damp soil.</text:p><text:list>"
        "<text:list-item><text:p>Maidenhair</text:p></text:list-item>"
        "<text:list-item><text:p>Bracken</text:p></text:list-item></text:list>"
        '<table:table><table:table-column table:number-columns-repeated="2"/>'
        f"{rows}</table:table>"
        + "".join(f"<text:p>{p}</text:p>" for p in filler(paragraphs))
        + "</office:text></office:body></office:document-content>"
    )
    entries = {"META-INF/manifest.xml": manifest, "styles.xml": styles, "content.xml": content}
    return _zip(entries, "application/vnd.oasis.opendocument.text")


def rtf_text(paragraphs: int = 0) -> str:
    """``RTF_TEXT`` with ``paragraphs`` more paragraphs before its closing brace."""
    return RTF_TEXT[:-1] + "".join(f"{{\\pard {p}\\par}}" for p in filler(paragraphs)) + "}"


RTF_TEXT = (
    r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}"
    r"{\pard\b Tides\b0\par}{\pard The spring tide peaks at dawn.\par}"
    r"{\pard\li720 \bullet  Neap tide\par}}"
)


def legacy_bytes(tmp: Path, modern: bytes, suffix: str, target: str) -> bytes | None:
    """``modern`` (a DOCX or PPTX) converted by LibreOffice to ``target``; None without it."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    source = tmp / f"legacy-source{suffix}"
    source.write_bytes(modern)
    profile = (tmp / "lo-profile").as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", target]
        + ["--outdir", str(tmp), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (tmp / f"legacy-source.{target}").read_bytes()
