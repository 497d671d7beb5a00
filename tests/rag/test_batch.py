"""Batch question answering: reading questions, one record per question, resume after a kill."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer

from rag import RAG, LLMConfig, RAGConfig, RagError, StoreConfig
from rag.batch import read_questions, run_batch
from rag.batch_output import CSV_COLUMNS, answered_ids
from rag.cli import run
from rag.encoders import TransformerEncoder
from rag.stores.server import ServerStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "docs"
TRAVEL = EXAMPLES / "travel-policy.txt"


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_rows_give_ids_filters_metadata_and_row_errors(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "a", "question": "Hotel limit?", "source": str(TRAVEL), "team": "finance"},
            {"question": "Vacation?", "doc_id": ["d1", "d2"]},
            {"id": "c", "question": "  "},
            "{not json",
            {"id": "e", "question": "x", "source": 3},
        ],
    )
    a, b, c, d, e = read_questions(path)
    assert (a.id, a.text, a.search_filter.sources) == ("a", "Hotel limit?", (str(TRAVEL),))
    assert a.metadata == {"source": str(TRAVEL), "team": "finance"} and a.error is None
    assert (b.id, b.search_filter.doc_ids) == ("2", ("d1", "d2"))
    assert c.error == "row 3 has no question"
    assert (d.id, d.error) == ("4", "row 4 is not valid JSON")
    assert e.error is not None and "'source' must be a string" in e.error


def test_csv_rows_and_file_level_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("\ufeffid,question,source,owner\nq1,Hotel limit?,,ann\n,Vacation?,x.txt,\n")
    q1, q2 = read_questions(path)
    assert (q1.id, q1.text, q1.search_filter.is_empty()) == ("q1", "Hotel limit?", True)
    assert q1.metadata == {"source": "", "owner": "ann"}
    assert (q2.id, q2.search_filter.sources) == ("2", (str(Path("x.txt").resolve()),))

    (tmp_path / "bad.csv").write_text("query\nwhat?\n")
    with pytest.raises(RagError, match="no 'question' column"):
        read_questions(tmp_path / "bad.csv")
    write_jsonl(tmp_path / "dup.jsonl", [{"id": 1, "question": "a"}, {"id": "1", "question": "b"}])
    with pytest.raises(RagError, match="id '1' appears more than once"):
        read_questions(tmp_path / "dup.jsonl")
    with pytest.raises(RagError, match=r"\.jsonl or \.csv"):
        read_questions(tmp_path / "q.txt")


def test_resume_cuts_a_partial_jsonl_line(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    whole = '{"id": "a", "answer": "x"}\n{"id": "b", "answer": "y"}\n'
    out.write_text(whole + '{"id": "c", "ans')
    assert answered_ids(out, "jsonl") == {"a", "b"}
    assert out.read_text() == whole
    out.write_text(whole + "not a record\n")
    with pytest.raises(RagError, match="line 3 is not an answer record"):
        answered_ids(out, "jsonl")


def test_resume_cuts_a_csv_record_cut_inside_a_multiline_answer(tmp_path: Path) -> None:
    out = tmp_path / "answers.csv"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerows([["id", "answer"], ["a", "line one\r\nline two"], ["b", "plain"]])
    whole = buffer.getvalue()
    writer.writerow(["c", "first\r\nsecond"])
    cut = buffer.getvalue()[: len(whole) + len('c,"first\r\n')]
    cut_in_a_character = (whole + 'c,"caf\u00e9').encode()[:-1]
    for partial in (cut.encode(), (whole + "c,pla").encode(), cut_in_a_character):
        out.write_bytes(partial)
        assert answered_ids(out, "csv", ["id", "answer"]) == {"a", "b"}
        assert out.read_bytes().decode() == whole
    with pytest.raises(RagError, match="columns differ"):
        answered_ids(out, "csv", ["id", "answer", "metadata.x"])


@pytest.fixture
def rag(encoder: TransformerEncoder, openai_server: FakeOpenAIServer) -> RAG:
    llm = LLMConfig(base_url=openai_server.base_url, model="fake-model", max_retries=0)
    rag = RAG(RAGConfig(llm=llm), encoder=encoder, store=ServerStore(location=":memory:"))
    rag.ingest([EXAMPLES])
    return rag


@pytest.mark.slow
@pytest.mark.integration
def test_llm_rows_overlap_a_failed_row_is_recorded_and_resume_skips_done_rows(
    tmp_path: Path, rag: RAG, openai_server: FakeOpenAIServer
) -> None:
    rows = [
        {"id": f"q{i}", "question": "Hotel limit in Tokyo?", "source": str(TRAVEL)}
        for i in range(4)
    ]
    questions = read_questions(write_jsonl(tmp_path / "q.jsonl", rows))
    openai_server.reply = "Up to 320 US dollars [1]."
    openai_server.hold_until = 2
    openai_server.fail_next(500)
    out = tmp_path / "answers.jsonl"
    report = run_batch(rag, questions, out, workers=2, k=2)

    assert (report.answered, report.failed, report.skipped) == (3, 1, 0)
    assert openai_server.max_in_flight == 2
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in records) == ["q0", "q1", "q2", "q3"]
    (failed,) = [r for r in records if r["error"]]
    assert failed["answer"] is None and "server error (HTTP 500)" in failed["error"]
    for record in records:
        assert set(record) == {
            "id",
            "question",
            "answer",
            "generator",
            "citations",
            "timings",
            "error",
            "metadata",
        }
        assert record["metadata"] == {"source": str(TRAVEL)}
        assert record["timings"]["total_s"] >= 0
        if record["error"] is None:
            assert record["answer"] == openai_server.reply and record["generator"] == "fake-model"
            (citation,) = record["citations"]
            assert citation["source"] == str(TRAVEL)
            start, end = citation["char_span"]
            assert TRAVEL.read_text()[start:end] == citation["text"]

    asked = len(openai_server.requests)
    again = run_batch(rag, questions, out, workers=2)
    assert (again.answered, again.failed, again.skipped) == (0, 0, 4)
    assert len(openai_server.requests) == asked and len(out.read_text().splitlines()) == 4


@pytest.mark.slow
@pytest.mark.integration
def test_csv_output_for_spreadsheets(
    tmp_path: Path, rag: RAG, openai_server: FakeOpenAIServer
) -> None:
    questions_file = tmp_path / "q.csv"
    questions_file.write_text("id,question,owner\nh,Hotel limit in Tokyo?,ann\nv,Vacation?,bob\n")
    questions = read_questions(questions_file)
    openai_server.reply = "See the policy [1].\nSecond line."
    out = tmp_path / "answers.csv"
    run_batch(rag, questions[:1], out, fmt="csv")
    run_batch(rag, questions, out, fmt="csv")  # resumes: only "v" is asked
    assert len(openai_server.requests) == 2
    with open(out, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == [*CSV_COLUMNS, "metadata.owner"]
        records = list(reader)
    assert [(r["id"], r["metadata.owner"]) for r in records] == [("h", "ann"), ("v", "bob")]
    assert records[0]["answer"] == openai_server.reply and records[0]["error"] == ""
    assert records[0]["sources"].startswith("[1] ")
    assert json.loads(records[0]["citations"])[0]["number"] == 1


@pytest.mark.slow
@pytest.mark.integration
def test_cli_batch_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = write_jsonl(tmp_path / "q.jsonl", [{"question": "Vacation?"}])
    store = ["--store", str(tmp_path / "empty")]
    code = run(["batch", str(questions), "-o", str(tmp_path / "a.jsonl"), *store])
    err = capsys.readouterr().err
    assert code == 1 and "does not exist: ingest documents first" in err
    assert "Traceback" not in err


def _complete_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
@pytest.mark.integration
def test_killed_batch_resumes_to_one_line_per_question(
    tmp_path: Path, financebench_pdfs: Path, encoder: TransformerEncoder
) -> None:
    questions = financebench_pdfs.parent / "questions.jsonl"
    ids = {json.loads(line)["id"] for line in questions.read_text().splitlines()}
    assert len(ids) == 94
    smallest = sorted(financebench_pdfs.glob("*.pdf"), key=lambda p: p.stat().st_size)[:2]
    store = tmp_path / "store"
    with RAG(RAGConfig(store=StoreConfig(path=store)), encoder=encoder) as rag:
        assert rag.ingest(smallest).count("ingested") == 2

    out = tmp_path / "answers.jsonl"
    args = [sys.executable, "-m", "rag.cli", "batch", str(questions), "-o", str(out)]
    args += ["--store", str(store), "--workers", "2", "-k", "2"]
    first = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while _complete_lines(out) < 5 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    _, err = first.communicate(timeout=60)
    written = _complete_lines(out)
    assert first.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert 5 <= written < 94

    with open(out, "a") as f:  # what a kill in the middle of a write leaves behind
        f.write('{"id": "financebench_id_0')
    second = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"{94 - written} answered, 0 failed, {written} already in" in second.stdout

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 94 and {r["id"] for r in records} == ids
    assert all(r["answer"] and r["generator"] == "extractive" for r in records)
    stored = {str(p.resolve()) for p in smallest}  # sources are stored resolved
    assert all(c["source"] in stored for r in records for c in r["citations"])
    assert re.search(r"\| \d+/\d+ \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(q/s|s/q)\]", second.stderr)
