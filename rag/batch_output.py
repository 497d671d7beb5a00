"""Answer records on disk: appended one at a time as JSONL or CSV, and read back to resume.

Each record is written whole and synced, so a kill leaves at most one partial record at the
end; ``answered_ids`` cuts it off before a run appends again.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from rag.errors import RagError

log = logging.getLogger(__name__)

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")

CSV_COLUMNS = (
    "id",
    "question",
    "answer",
    "generator",
    "error",
    "sources",
    "citations",
    "retrieve_s",
    "generate_s",
    "total_s",
)
"""The fixed CSV columns; ``metadata.NAME`` columns follow, one per input column."""


def csv_header(metadata: Sequence[str]) -> list[str]:
    """The CSV header: ``CSV_COLUMNS``, then ``metadata.NAME`` for each echoed input column."""
    return [*CSV_COLUMNS, *(f"metadata.{m}" for m in metadata)]


def _csv_records(text: str) -> tuple[list[list[str]], int]:
    """Return the complete CSV records of ``text`` and the offset where they end."""
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in io.StringIO(text, newline=""):
            consumed += len(line)
            yield line

    records: list[list[str]] = []
    end = 0
    try:
        for record in csv.reader(lines(), strict=True):
            if not text[:consumed].endswith(("\n", "\r")):
                break  # the last record lost its line end: it was cut
            records.append(record)
            end = consumed
    except csv.Error:
        pass  # cut inside a quoted field
    return records, end


def answered_ids(output: Path, fmt: Format, header: Sequence[str] = ()) -> set[str]:
    """Return the ids already in ``output``, first cutting off a partial last record.

    For CSV, ``header`` is the expected first record; an output with other columns is refused.
    """
    if not output.exists():
        return set()
    data = output.read_bytes()
    if fmt == "jsonl":
        end = data.rfind(b"\n") + 1
        ids = set()
        for number, line in enumerate(data[:end].decode("utf-8").splitlines(), start=1):
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError) as e:
                raise RagError(f"{output}: line {number} is not an answer record") from e
    else:
        text = data.decode("utf-8", errors="replace")  # a cut may split a character
        records, chars = _csv_records(text)
        end = len(text[:chars].encode("utf-8"))
        if records and records[0] != list(header):
            raise RagError(f"{output}: its columns differ from this run's; use another output")
        ids = {r[0] for r in records[1:] if r}
    if end < len(data):
        log.info("cutting a partial last record off %s", output)
        with open(output, "r+b") as f:
            f.truncate(end)
    return ids


def _sources(citations: Sequence[dict[str, Any]]) -> str:
    parts = []
    for c in citations:
        pages = f" p.{c['page_span'][0]}-{c['page_span'][1]}" if c["page_span"] else ""
        chars = f" chars {c['char_span'][0]}-{c['char_span'][1]}"
        parts.append(f"[{c['number']}] {Path(c['source']).name}{pages}{chars}")
    return "; ".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def csv_record(record: dict[str, Any], metadata: Sequence[str]) -> list[str]:
    """One output record as CSV cells, in the order of ``CSV_COLUMNS`` then ``metadata``."""
    flat = {**record, **record["timings"], "sources": _sources(record["citations"])}
    cells = [_cell(flat[name]) for name in CSV_COLUMNS]
    return cells + [_cell(record["metadata"].get(name)) for name in metadata]


class Appender:
    """Appends whole records to the output, each flushed and synced to disk."""

    def __init__(self, output: Path, fmt: Format, metadata: Sequence[str]) -> None:
        self.fmt = fmt
        self.metadata = metadata
        self._file = open(output, "a", encoding="utf-8", newline="")  # noqa: SIM115
        if fmt == "csv" and self._file.tell() == 0:
            self._write(csv_header(metadata))

    def _write(self, cells: list[str]) -> None:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerow(cells)
        self._put(buffer.getvalue())

    def _put(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and sync it."""
        if self.fmt == "csv":
            self._write(csv_record(record, self.metadata))
        else:
            self._put(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Close the output file."""
        self._file.close()


def output_format(output: Path, fmt: Format | None) -> Format:
    """The format asked for, else ``csv`` for a ``.csv`` output, else ``jsonl``."""
    if fmt is not None:
        return fmt
    return "csv" if output.suffix.lower() == ".csv" else "jsonl"
