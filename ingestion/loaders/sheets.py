"""Spreadsheets and delimited text: sheets as pages under their names, one row a line.

Every table's first row is its header: chunks of later rows carry it as their context
(``Document.contexts``), so a chunk of numbers keeps its column names. Workbooks and files of
more than ``MAX_CELLS`` filled cells are refused before they are parsed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import Any

from lxml import etree

from ingestion.loaders.common import MAX_TEXT_FILE_BYTES, decode_text, read_source
from ingestion.loaders.elements import TextBuilder, add_elements, build
from ingestion.loaders.packages import check_compound, check_package
from ingestion.loaders.partition import partition
from rag.errors import LoaderError
from rag.types import Document

MAX_CELLS = 200_000
"""Most filled cells one workbook or delimited file may hold (all sheets together)."""


def too_many_cells(path: Path, cells: str) -> LoaderError:
    """The refusal of a file with more than ``MAX_CELLS`` filled cells."""
    return LoaderError(
        str(path), f"too many cells ({cells}; the limit is {MAX_CELLS:,}): split the sheet"
    )


def count_xlsx_cells(path: Path, data: bytes) -> int:
    """Count the filled cells of every worksheet, stopping past ``MAX_CELLS`` (streamed XML)."""
    cells = 0
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with package.open(name) as part:
                for _, element in etree.iterparse(part, events=("end",), tag="{*}c"):
                    cells += len(element) > 0  # a <c> with a value, formula or inline string
                    element.clear()
                    if cells > MAX_CELLS:
                        raise too_many_cells(path, f"over {MAX_CELLS:,}")
    return cells


def count_xls_cells(path: Path, data: bytes) -> int:
    """Count the cells of every sheet of a legacy ``.xls`` workbook."""
    import xlrd  # installed with unstructured's xlsx extra

    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    cells = 0
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        cells += sheet.nrows * sheet.ncols
        book.unload_sheet(index)
        if cells > MAX_CELLS:
            raise too_many_cells(path, f"over {MAX_CELLS:,}")
    return cells


def count_delimited_cells(path: Path, text: str, delimiter: str) -> int:
    """Count the cells of delimited ``text``, stopping past ``MAX_CELLS``."""
    cells = 0
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        cells += len(row)
        if cells > MAX_CELLS:
            raise too_many_cells(path, f"over {MAX_CELLS:,}")
    return cells


def sheets_text(elements: Iterable[Any]) -> TextBuilder:
    """One page per sheet, headed by the sheet's name; subtable titles are level-2 headings."""
    out = TextBuilder()
    for (number, name), group in groupby(
        elements, lambda e: (e.metadata.page_number, e.metadata.page_name)
    ):
        if number:
            out.page(number)
        if name:
            out.heading(name, 1)
        add_elements(out, group, heading_rule=lambda _: 2)
    return out


class XlsxLoader:
    """Loads ``.xlsx`` workbooks (and legacy ``.xls``): sheets as pages, header rows repeated."""

    extensions: tuple[str, ...] = (".xlsx", ".xls")

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document with a page and a heading per non-empty sheet."""
        data = read_source(path)
        if path.suffix.lower() == ".xls":
            check_compound(path, data, "XLS")
            kind = "XLS"
            counter = count_xls_cells
        else:
            check_package(path, data, "XLSX")
            kind = "XLSX"
            counter = count_xlsx_cells
        try:
            cells = counter(path, data)
        except (zipfile.BadZipFile, etree.LxmlError, ValueError, OSError) as e:
            raise LoaderError(str(path), f"not a readable {kind} ({type(e).__name__})") from e
        except Exception as e:  # xlrd's own errors
            if isinstance(e, LoaderError):
                raise
            raise LoaderError(str(path), f"not a readable {kind} ({e})") from e
        elements = partition(path, data, kind, "xlsx", "partition_xlsx")
        return build(
            sheets_text(elements),
            path,
            data,
            fmt=kind.lower(),
            no_text_reason="no text found (every sheet is empty)",
            cells=cells,
        )


class DelimitedLoader:
    """Loads ``.csv`` and ``.tsv`` files as one table whose first row is the header."""

    extensions: tuple[str, ...] = (".csv", ".tsv")

    def load(self, path: Path) -> Document:
        """Read ``path`` into a document holding one table, one row a line."""
        data = read_source(path, MAX_TEXT_FILE_BYTES)
        text = decode_text(path, data)
        tsv = path.suffix.lower() == ".tsv"
        cells = count_delimited_cells(path, text, "\t" if tsv else ",")
        kind = "TSV" if tsv else "CSV"
        name = "partition_tsv" if tsv else "partition_csv"
        options = {} if tsv else {"delimiter": ","}
        if not text.strip():
            return build(TextBuilder(), path, data, fmt=kind.lower())
        elements = partition(path, text.encode("utf-8"), kind, kind.lower(), name, **options)
        out = TextBuilder()
        add_elements(out, elements)
        return build(out, path, data, fmt=kind.lower(), cells=cells)
