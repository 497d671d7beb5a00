"""Batch question answering: questions from .jsonl or .csv, one answer record each, resumable.

Records are appended and synced to disk one at a time, so an interrupted run loses at most the
record being written; a re-run reads the output, cuts off a partial last record, and answers
only the questions not answered yet.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.batch_output import FORMATS, Appender, Format, answered_ids, csv_header
from rag.errors import RagError, StoreError
from rag.serialize import citation_json
from rag.types import SearchFilter

if TYPE_CHECKING:
    from rag.access import Principal
    from rag.sdk import RAG

log = logging.getLogger(__name__)

_ROW_KEYS = ("id", "question")


@dataclass(frozen=True)
class Question:
    """One row of a questions file: its id, text, search filter and other columns."""

    id: str
    text: str
    search_filter: SearchFilter = SearchFilter()
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class BatchReport:
    """What one run did: questions answered, failed, and skipped as already answered."""

    answered: int
    failed: int
    skipped: int
    seconds: float


def _values(row: dict[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{key!r} must be a string or a list of strings")


def _question(number: int, row: dict[str, Any] | str) -> Question:
    """Turn row ``number`` (1-based) into a question; a bad row becomes one with an error."""
    if isinstance(row, str):
        return Question(str(number), "", error=row)
    raw_id = row.get("id")
    qid = str(number) if raw_id is None or raw_id == "" else str(raw_id)
    metadata = {k: v for k, v in row.items() if k not in _ROW_KEYS}
    text = row.get("question")
    if not isinstance(text, str) or not text.strip():
        return Question(qid, "", metadata=metadata, error=f"row {number} has no question")
    try:
        sources = tuple(str(Path(s).expanduser().resolve()) for s in _values(row, "source"))
        search_filter = SearchFilter(sources=sources, doc_ids=_values(row, "doc_id"))
    except ValueError as e:
        return Question(qid, text, metadata=metadata, error=f"row {number}: {e}")
    return Question(qid, text, search_filter, metadata)


def _jsonl_rows(text: str) -> Iterator[dict[str, Any] | str]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            yield f"row {number} is not valid JSON"
            continue
        yield row if isinstance(row, dict) else f"row {number} is not a JSON object"


def _csv_rows(text: str, path: Path) -> Iterator[dict[str, Any] | str]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if "question" not in (reader.fieldnames or ()):
        raise RagError(f"{path}: no 'question' column (columns: {reader.fieldnames})")
    for row in reader:
        yield {k: v or "" for k, v in row.items() if k is not None}


def read_questions(path: Path) -> list[Question]:
    """Read a ``.jsonl`` or ``.csv`` questions file; ids must be unique."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise RagError(f"{path}: questions must be a .jsonl or .csv file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise RagError(f"{path}: cannot read the questions ({e})") from e
    rows = _jsonl_rows(text) if suffix == ".jsonl" else _csv_rows(text, path)
    questions = [_question(n, row) for n, row in enumerate(rows, start=1)]
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise RagError(f"{path}: id {q.id!r} appears more than once")
        seen.add(q.id)
    return questions


def metadata_columns(questions: Sequence[Question]) -> list[str]:
    """The input columns echoed in the output, in order of first appearance."""
    names: dict[str, None] = {}
    for q in questions:
        names.update(dict.fromkeys(q.metadata))
    return list(names)


def _one_line(err: Exception, secrets: Sequence[str]) -> str:
    text = str(err) if isinstance(err, RagError) else f"{type(err).__name__}: {err}"
    for secret in secrets:
        text = text.replace(secret, "***")
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:299] + "…"


def answer_question(
    rag: RAG,
    question: Question,
    k: int | None = None,
    secrets: Sequence[str] = (),
    principal: Principal | None = None,
) -> dict[str, Any]:
    """Answer one question from what ``principal`` may read; a failure becomes ``error``."""
    started = time.perf_counter()
    record: dict[str, Any] = {
        "id": question.id,
        "question": question.text,
        "answer": None,
        "generator": None,
        "citations": [],
        "timings": {"retrieve_s": None, "generate_s": None, "total_s": None},
        "error": question.error,
        "metadata": question.metadata,
    }
    timings = record["timings"]
    if question.error is None:
        try:
            hits = rag.search(question.text, k, question.search_filter, principal=principal)
            timings["retrieve_s"] = round(time.perf_counter() - started, 3)
            answer = rag.generator.generate(question.text, hits)
            timings["generate_s"] = round(time.perf_counter() - started - timings["retrieve_s"], 3)
            record["answer"] = answer.text
            record["generator"] = answer.generator
            record["citations"] = [citation_json(c) for c in answer.citations]
        except Exception as e:  # a failed row is recorded and the run goes on
            record["error"] = _one_line(e, secrets)
            log.debug("question %s failed", question.id, exc_info=True)
    timings["total_s"] = round(time.perf_counter() - started, 3)
    return record


def run_batch(
    rag: RAG,
    questions: Sequence[Question],
    output: Path,
    *,
    fmt: Format = "jsonl",
    workers: int = 4,
    k: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    principal: Principal | None = None,
) -> BatchReport:
    """Answer the questions not yet in ``output`` with ``workers`` threads, appending each.

    Every question searches only what ``principal`` may read (None: public documents).
    ``on_start`` gets the number of questions skipped as already answered; ``on_record`` each
    record after it is written. Both are called in the calling thread.
    """
    if fmt not in FORMATS:
        raise RagError(f"unknown output format {fmt!r} (valid: {', '.join(FORMATS)})")
    if workers < 1:
        raise RagError("workers must be at least 1")
    started = time.perf_counter()
    metadata = metadata_columns(questions)
    done = answered_ids(output, fmt, csv_header(metadata))
    todo = [q for q in questions if q.id not in done]
    if on_start is not None:
        on_start(len(questions) - len(todo))
    if todo:
        if not rag.store.exists():
            raise StoreError(
                "does not exist: ingest documents first", collection=rag.store.collection
            )
        rag.generator  # noqa: B018 - load the model now, not inside the first row's timings
    secrets = [
        s.get_secret_value() for s in (rag.config.llm.api_key, rag.config.store.api_key) if s
    ]
    answered = failed = 0
    writer = Appender(output, fmt, metadata)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rag-batch") as pool:
            futures = [pool.submit(answer_question, rag, q, k, secrets, principal) for q in todo]
            try:
                for future in as_completed(futures):
                    record = future.result()
                    writer.append(record)
                    if record["error"] is None:
                        answered += 1
                    else:
                        failed += 1
                    if on_record is not None:
                        on_record(record)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        writer.close()
    skipped = len(questions) - len(todo)
    return BatchReport(answered, failed, skipped, time.perf_counter() - started)
