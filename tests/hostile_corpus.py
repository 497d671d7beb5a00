"""A corpus of hostile files made on the fly, each with what loading it must give."""

from __future__ import annotations

import codecs
import ctypes
import io
import os
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docx
import openpyxl
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from msoffcrypto.format.ooxml import OOXMLFile
from office_samples import deck_bytes, mail_bytes, workbook_bytes

BIG_TEXT_BYTES = 50 * 1024 * 1024
BOMB_BYTES = 300 * 1024 * 1024
SCRIPT_WORD = "zqxscriptword"
"""Only inside ``<script>``/``<style>`` of remote.html: must never be indexed."""
REMOTE_HOST = "images.example.com"


@dataclass(frozen=True)
class Hostile:
    """One hostile file and its expected fate: ``reason`` for a failure, None when ingested."""

    path: Path
    reason: str | None
    words: str = ""
    """For an ingested file: words a search must find in its stored text."""


def text_pdf(pages: list[list[str]]) -> pdfium.PdfDocument:
    """A PDF with one text line per string on each page; an empty list makes a blank page."""
    pdf = pdfium.PdfDocument.new()
    for lines in pages:
        page = pdf.new_page(400, 400)
        for row, line in enumerate(lines):
            obj = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", ctypes.c_float(12))
            buffer = ctypes.create_string_buffer((line + "\x00").encode("utf-16-le"))
            pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 20, 360 - 20 * row)
            pdfium_c.FPDFPage_InsertObject(page.raw, obj)
        pdfium_c.FPDFPage_GenerateContent(page.raw)
        page.close()
    return pdf


def pdf_bytes(pdf: pdfium.PdfDocument) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


def image_only_pdf() -> bytes:
    """A page holding one grey image and no text object: a scan without a text layer."""
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(200, 200)
    image = pdfium.PdfImage.new(pdf)
    bitmap = pdfium.PdfBitmap.new_native(64, 64, pdfium_c.FPDFBitmap_BGR)
    bitmap.fill_rect((128, 128, 128, 255), 0, 0, 64, 64)
    image.set_bitmap(bitmap)
    image.set_matrix(pdfium.PdfMatrix().scale(150, 150).translate(25, 25))
    page.insert_obj(image)
    page.gen_content()
    page.close()
    return pdf_bytes(pdf)


def encrypted_pdf() -> bytes:
    """A one-page PDF whose standard security handler rejects the empty password."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
        b"<< /Filter /Standard /V 1 /R 2 /P -4 /O <%s> /U <%s> >>" % (b"11" * 32, b"22" * 32),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    file_id = b"<" + b"ab" * 16 + b">"
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [%s %s] >>\n" % (
        len(objects) + 1,
        file_id,
        file_id,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def docx_bytes(paragraphs: list[str]) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def replace_part(package: bytes, name: str, content: bytes | None) -> bytes:
    """Return the zip ``package`` with part ``name`` replaced (or dropped when None)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(package)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
        if content is not None:
            target.writestr(name, content)
    return out.getvalue()


def docx_bomb(path: Path) -> None:
    """A DOCX whose ``word/document.xml`` inflates to ``BOMB_BYTES`` of XML from ~300 KB."""
    package = replace_part(docx_bytes(["bomb"]), "word/document.xml", None)
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
        b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
    )
    filler = b"A" * (1024 * 1024)
    with open(path, "wb") as out:
        out.write(package)
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("word/document.xml", "w", force_zip64=True) as part,
    ):
        part.write(head)
        for _ in range(BOMB_BYTES // len(filler)):
            part.write(filler)
        part.write(b"</w:t></w:r></w:p></w:body></w:document>")


def xxe_docx() -> bytes:
    """A DOCX whose body declares an external entity pointing at a local file."""
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>Entity quarantine notice &xxe; end.</w:t></w:r></w:p>"
        b"</w:body></w:document>"
    )
    return replace_part(docx_bytes(["x"]), "word/document.xml", xml)


def million_cell_xlsx(path: Path) -> None:
    """A workbook whose one sheet holds 1,000,000 numeric cells (50,000 rows of 20)."""
    book = openpyxl.Workbook()
    out = io.BytesIO()
    book.save(out)
    package = replace_part(out.getvalue(), "xl/worksheets/sheet1.xml", None)
    row = "".join(f"<c><v>{c}</v></c>" for c in range(20)).encode()
    with open(path, "wb") as target:
        target.write(package)
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf,
        zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part,
    ):
        part.write(
            b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
            b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        )
        for _ in range(50_000):
            part.write(b"<row>" + row + b"</row>")
        part.write(b"</sheetData></worksheet>")


def encrypted_xlsx() -> bytes:
    """A workbook saved with the password ``secret`` (an OLE container, as Excel writes it)."""
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(workbook_bytes())).encrypt("secret", out)
    return out.getvalue()


REMOTE_HTML = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
 "http://{REMOTE_HOST}/DTD/xhtml1-strict.dtd">
<html><head><title>Remote bits</title>
<base href="http://{REMOTE_HOST}/">
<link rel="stylesheet" href="http://{REMOTE_HOST}/style.css">
<script src="http://{REMOTE_HOST}/tracker.js"></script>
<script>var {SCRIPT_WORD} = fetch("http://{REMOTE_HOST}/beacon");</script>
<style>@import url("http://{REMOTE_HOST}/more.css"); .{SCRIPT_WORD} {{ color: red }}</style>
</head><body>
<h1>Aquarium maintenance</h1>
<p>Rinse the aquarium filter sponge monthly.<img src="http://{REMOTE_HOST}/pixel.png"></p>
<iframe src="http://{REMOTE_HOST}/frame.html">{SCRIPT_WORD}</iframe>
<object data="http://{REMOTE_HOST}/movie.swf"></object>
<img srcset="http://{REMOTE_HOST}/a.png 1x, https://{REMOTE_HOST}/b.png 2x">
<video poster="http://{REMOTE_HOST}/poster.jpg" src="http://{REMOTE_HOST}/v.mp4"></video>
<noscript><img src="http://{REMOTE_HOST}/noscript.gif">{SCRIPT_WORD}</noscript>
<script>document.write("{SCRIPT_WORD}")</script>
</body></html>
"""


def make_corpus(folder: Path, good: Path) -> list[Hostile]:
    """Write the hostile files into ``folder``; ``good`` is a readable file to link to."""
    folder.mkdir()
    files: list[Hostile] = []
    rng = random.Random(11)

    def add(name: str, content: bytes | str | None, reason: str | None, words: str = "") -> Path:
        path = folder / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif content is not None:
            path.write_bytes(content)
        files.append(Hostile(path, reason, words))
        return path

    # Empty, blank and near-empty files.
    for name in ("empty.txt", "empty.md", "empty.html", "empty.pdf", "empty.docx"):
        add(name, b"", "empty file")
    add("blank.md", " \n\t\n", "no text found")
    add("bom-only.txt", codecs.BOM_UTF8, "no text found")
    add("only-script.html", f"<html><script>{SCRIPT_WORD}()</script></html>", "no text found")

    # Binary data under text names.
    noise = bytes(rng.randrange(256) for _ in range(4096)) + b"\x00"
    add("noise.txt", noise, "binary data, not text")
    add("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise, "binary data, not text")
    add("program.html", b"\x7fELF\x02\x01\x01\x00" + noise, "binary data, not text")

    # Broken and odd encodings.
    add("latin1.txt", "café crème brûlée\n".encode("latin-1") * 20, "not valid UTF-8 text")
    add(
        "one-bad-byte.txt",
        b"Glacier ferry timetable for winter. " * 40 + b"\xff",
        None,
        "glacier ferry timetable",
    )
    add(
        "utf16.txt",
        codecs.BOM_UTF16_LE + "Kältemittel Prüfung für Wärmepumpen 😀.\n".encode("utf-16-le"),
        None,
        "Wärmepumpen",
    )
    add("utf16-odd.txt", codecs.BOM_UTF16_LE + b"a\x00b\x00\x00\xd8c", "not valid UTF-16 text")
    add("utf16-no-bom.txt", "plain words".encode("utf-16-le"), "binary data, not text")
    add(
        "combining.md",
        "# Ünïcödé\n\nZe\u0301ro e\u0301mojis 👩\u200d👩\u200d👧 family 🏳️\u200d🌈 flag.\n",
        None,
        "family flag",
    )
    add("control-chars.txt", "Lighthouse keeper\x07 log\x1b[31m book\x0c.\n", None, "lighthouse")

    # Size: a 50 MB text file is refused before it is read.
    big = add("big.txt", None, "too large (50.0 MB; the limit is 16 MB)")
    with open(big, "wb") as out:
        line = b"All work and no play makes a dull embedding.\n"
        out.write(line * (BIG_TEXT_BYTES // len(line)))
        out.write(b"x" * (BIG_TEXT_BYTES % len(line)))

    # HTML that is deep or points elsewhere.
    depth = 10_000
    add("nested.html", "<div>" * depth + "Deep canyon echo" + "</div>" * depth, None, "canyon echo")
    add("remote.html", REMOTE_HTML, None, "aquarium filter sponge")

    # PDFs.
    whole = pdf_bytes(text_pdf([["Volcano survey notes", "Basalt samples"] * 10]))
    add("truncated.pdf", whole[: len(whole) // 3], "not a readable PDF (Data format error)")
    add("encrypted.pdf", encrypted_pdf(), "encrypted PDF")
    add("scan.pdf", image_only_pdf(), "no text layer (scanned PDF?)")
    add("html-named.pdf", "<html>not a pdf</html>", "not a readable PDF (Data format error)")

    # DOCX packages.
    docx_bomb(folder / "bomb.docx")
    bomb = "unpacks to 301 MB, over the 256 MB limit (a zip bomb?)"
    files.append(Hostile(folder / "bomb.docx", bomb))
    add("not-a-zip.docx", noise, "not a readable DOCX")
    add(
        "no-body.docx",
        replace_part(docx_bytes(["x"]), "word/document.xml", None),
        "not a readable DOCX",
    )
    add("xxe.docx", xxe_docx(), None, "quarantine notice")

    # Office formats: random bytes, empty, locked and huge workbooks, a mail carrying a bomb.
    add("noise.pptx", noise, "not a readable PPTX (not a zip package)")
    add("text.pptx", "slides in plain text", "not a readable PPTX (not a zip package)")
    add("truncated.pptx", deck_bytes()[:2000], "not a readable PPTX")
    add("empty.xlsx", b"", "empty file")
    empty_book = io.BytesIO()
    openpyxl.Workbook().save(empty_book)
    add("no-cells.xlsx", empty_book.getvalue(), "no text found (every sheet is empty)")
    add("locked.xlsx", encrypted_xlsx(), "encrypted XLSX (password-protected)")
    million_cell_xlsx(folder / "million.xlsx")
    many = "too many cells (over 200,000; the limit is 200,000): split the sheet"
    files.append(Hostile(folder / "million.xlsx", many))
    add("noise.xls", noise, "not a readable XLS (not an OLE compound file)")
    add("noise.epub", noise, "not a readable EPUB (not a zip package)")
    add("noise.odt", noise, "not a readable ODT (not a zip package)")
    add("noise.rtf", noise, "not a readable RTF (no {\\rtf header)")
    add("noise.csv", noise, "binary data, not text")
    add("noise.eml", noise, "binary data, not a mail")
    add("noise.msg", noise, "not a readable MSG (not an OLE compound file)")
    add("noise.doc", noise, "not a readable DOC (not an OLE compound file)")
    add("noise.ppt", noise, "not a readable PPT (not an OLE compound file)")
    bomb_bytes = (folder / "bomb.docx").read_bytes()
    attached = {"bomb.docx": bomb_bytes, "bomb.zip": bomb_bytes}
    mail = add("bomb-mail.eml", mail_bytes(attached), None, "kiln fires on Thursday")
    files.append(Hostile(Path(f"{mail}#bomb.docx"), bomb))

    # File-system oddities.
    loop_a, loop_b = folder / "loop-a.txt", folder / "loop-b.txt"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    files += [Hostile(p, "cannot read file (symbolic link loop)") for p in (loop_a, loop_b)]
    dangling = folder / "dangling.md"
    dangling.symlink_to(folder / "nowhere.md")
    files.append(Hostile(dangling, "broken symbolic link"))
    os.mkfifo(folder / "pipe.txt")
    files.append(Hostile(folder / "pipe.txt", "not a regular file (a pipe, socket or device)"))
    (folder / "device.txt").symlink_to("/dev/zero")
    files.append(Hostile(folder / "device.txt", "not a regular file (a pipe, socket or device)"))
    (folder / "folder.md").mkdir()  # a folder named like a file: walked, not read
    locked = add("locked.txt", "Beekeeping swarm season notes.\n", None, "beekeeping swarm")
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads past permission bits: then the file is ingested
        files[-1] = Hostile(locked, "cannot read file (permission denied)")
    (folder / "link-to-good.txt").symlink_to(good)
    files.append(Hostile(folder / "link-to-good.txt", None))

    # Types no loader reads.
    add("program.exe", noise, "unsupported file type '.exe'")
    add("README", "no extension here", "unsupported file type (no extension)")
    add("archive.tar.gz", noise, "unsupported file type '.gz'")
    return files
