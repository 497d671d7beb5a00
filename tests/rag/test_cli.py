"""The ``rag`` command end to end with the bundled model and the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from rag.cli import run
from rag.encoders import bundled_model_path
from rag.stores.edge import EdgeStore

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUESTION = "How many vacation days do new employees get?"


def rag(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process and return (exit code, stdout, stderr)."""
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rag_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = rag(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def store(tmp_path: Path) -> list[str]:
    return ["--store", str(tmp_path / "store")]


def test_readme_main_job_ingests_then_answers_with_citations(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str]
) -> None:
    report = rag_json(capsys, "ingest", str(docs), *store)
    assert report["ingested"] == 3 and report["failed"] == 0
    assert all(f["chunks"] > 0 for f in report["files"])

    answer = rag_json(capsys, "ask", QUESTION, *store)
    assert "18 days" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["source"].endswith("handbook.md")
    start, end = cited["char_span"]
    assert (docs / "handbook.md").read_text()[start:end] == cited["text"]
    assert f"[{cited['number']}]" in answer["answer"]

    code, out, _ = rag(capsys, "ask", QUESTION, *store)
    assert code == 0 and "18 days" in out and "handbook.md" in out


def test_reingest_is_idempotent_and_an_edit_replaces_only_that_file(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str]
) -> None:
    rag_json(capsys, "ingest", str(docs), *store)
    before = rag_json(capsys, "stats", *store)
    counts = {d["name"]: d["chunks"] for d in before["documents_list"]}
    assert counts["travel-policy.txt"] > 1

    again = rag_json(capsys, "ingest", str(docs), *store)
    assert again["unchanged"] == 3 and again["chunks"] == 0
    assert rag_json(capsys, "stats", *store)["chunks"] == before["chunks"]

    travel = docs / "travel-policy.txt"
    travel.write_text("Northwind pays a daily meal allowance of 90 US dollars on trips abroad.\n")
    edited = rag_json(capsys, "ingest", str(docs), *store)
    assert (edited["updated"], edited["unchanged"]) == (1, 2)
    after = rag_json(capsys, "stats", *store)
    by_name = {d["name"]: d for d in after["documents_list"]}
    assert by_name["travel-policy.txt"]["chunks"] == 1
    for name in ("handbook.md", "security.html"):
        assert by_name[name]["chunks"] == counts[name]
    assert after["chunks"] == before["chunks"] - counts["travel-policy.txt"] + 1
    hits = rag_json(capsys, "search", "hotel per night reimbursed", "-k", "10", *store)["hits"]
    assert not any("220 US dollars" in h["text"] for h in hits)

    deleted = rag_json(capsys, "delete", str(travel), *store)
    assert deleted["deleted"] == 1
    final = rag_json(capsys, "stats", *store)
    assert final["documents"] == 2
    assert final["chunks"] == before["chunks"] - counts["travel-policy.txt"]
    code, _, err = rag(capsys, "delete", str(travel), *store)
    assert code == 1 and "no stored document" in err


def test_bad_files_are_reported_one_line_each_and_the_rest_goes_in(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str]
) -> None:
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nbroken")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 8)
    code, out, err = rag(capsys, "ingest", str(docs), *store, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ingested"] == 3 and report["failed"] == 3
    for name in ("corrupt.pdf", "empty.txt", "binary.txt"):
        lines = [line for line in err.splitlines() if name in line and "failed" in line]
        assert len(lines) == 1, err
    assert "Traceback" not in err


def _independent_late_chunking(text: str, spans: list[list[int]]) -> np.ndarray:
    """Late chunking written straight from the paper with transformers, for comparison."""
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path())
    model = AutoModel.from_pretrained(bundled_model_path())
    encoded = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = encoded.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        states = model(**encoded).last_hidden_state[0].numpy()
    vectors = []
    for i, (start, end) in enumerate(spans):
        rows = [j for j, (a, b) in enumerate(offsets) if b > a and start <= a < end]
        if i == 0:
            rows = [0, *rows]  # [CLS] goes to the first chunk
        if i == len(spans) - 1:
            rows = [*rows, len(offsets) - 1]  # [SEP] goes to the last
        mean = states[rows].mean(axis=0)
        vectors.append(mean / np.linalg.norm(mean))
    return np.array(vectors)


def test_chunk_vectors_are_late_chunked_in_one_forward_pass(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str]
) -> None:
    path = docs / "travel-policy.txt"
    args = ("chunks", str(path), "--vectors", "--chunker", "sentences", "--chunk-size", "40")
    late = rag_json(capsys, *args, "--chunking", "late", *store)["chunks"]
    assert len(late) >= 3
    text = path.read_text()
    spans = [c["char_span"] for c in late]
    assert [text[a:b] for a, b in spans] == [c["text"] for c in late]
    expected = _independent_late_chunking(text, spans)
    got = np.array([c["vector"] for c in late])
    assert np.min(np.sum(got * expected, axis=1)) > 0.9999

    naive = rag_json(capsys, *args, "--chunking", "naive", *store)["chunks"]
    assert [c["char_span"] for c in naive] == spans
    naive_vectors = np.array([c["vector"] for c in naive])
    assert np.max(np.sum(naive_vectors * got, axis=1)) < 0.99

    mixed_args = ("--chunking", "mixed", "--late-weight", "0.4")
    mixed = rag_json(capsys, *args, *mixed_args, *store)["chunks"]
    blend = 0.4 * got + 0.6 * naive_vectors
    blend /= np.linalg.norm(blend, axis=1, keepdims=True)
    assert np.min(np.sum(np.array([c["vector"] for c in mixed]) * blend, axis=1)) > 0.9999


def test_search_filters_by_source(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str]
) -> None:
    rag_json(capsys, "ingest", str(docs), *store)
    only = str(docs / "security.html")
    hits = rag_json(capsys, "search", "vacation days", "--source", only, *store)["hits"]
    assert hits and all(h["source"] == only for h in hits)
    top = rag_json(capsys, "search", "password length", "-k", "1", *store)["hits"]
    assert len(top) == 1 and top[0]["source"] == only and top[0]["rank"] == 1


@pytest.mark.parametrize("command", ["search", "ask"])
def test_undecodable_bytes_in_a_question_give_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str], command: str
) -> None:
    assert rag(capsys, "ingest", str(docs), *store)[0] == 0
    argv = b"caf\xff".decode("utf-8", "surrogateescape")  # what `rag search $'caf\xff'` gets
    code, out, err = rag(capsys, command, argv, *store)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: the query holds a byte that is not")


def test_read_only_commands_create_no_store_and_say_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    typo = tmp_path / "typo"
    code, out, err = rag(capsys, "stats", "--store", str(typo))
    assert code == 0 and "0 documents" in out
    assert err == f"warning: no collection 'default' at {typo}\n"
    for command in (["search", "vacation"], ["ask", "vacation"], ["delete", "nothing"]):
        code, out, err = rag(capsys, *command, "--store", str(typo))
        assert code == 1 and out == "" and err.count("\n") == 1, (command, out, err)
    assert not typo.exists()


def test_backend_help_names_the_onnx_extra(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = rag(capsys, "ingest", "--help")
    assert code == 0 and "needs laterag[onnx]" in " ".join(out.split())


def test_a_store_held_by_another_process_gives_a_clear_error(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str], tmp_path: Path
) -> None:
    rag_json(capsys, "ingest", str(docs / "handbook.md"), *store)
    with EdgeStore(tmp_path / "store" / "default"):
        code, _, err = rag(capsys, "search", "vacation", *store)
    assert code == 1
    assert "in use by another process" in err and "Traceback" not in err


def test_ask_through_an_openai_compatible_endpoint(
    capsys: pytest.CaptureFixture[str], docs: Path, store: list[str], openai_server
) -> None:
    rag_json(capsys, "ingest", str(docs), *store)
    openai_server.reply = "New employees get 18 days of vacation [1]."
    answer = rag_json(
        capsys,
        "ask",
        QUESTION,
        "--llm-base-url",
        openai_server.base_url,
        "--llm-model",
        "test-model",
        *store,
    )
    assert answer["generator"] == "test-model"
    assert answer["citations"][0]["source"].endswith("handbook.md")
    sent = json.dumps(openai_server.requests[-1].body)
    assert "18 days of paid vacation" in sent
