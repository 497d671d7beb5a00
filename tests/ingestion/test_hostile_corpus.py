"""Bad input never crashes a batch: 56 hostile files and an attachment beside the samples."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_corpus import BIG_TEXT_BYTES, REMOTE_HOST, SCRIPT_WORD, Hostile, make_corpus

from ingestion.loaders import load_document
from ingestion.pipeline import FileResult, IngestReport
from rag import RAG, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.errors import LoaderError
from rag.types import Chunk

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
SAMPLE_FACTS = {
    "How many vacation days do new employees get?": "18 days",
    "How long must passwords be?": "14 characters",
    "What is the hotel limit per night in Tokyo?": "320 US dollars",
}
HEAP_LIMIT = 32 * 1024 * 1024
"""Most Python memory reading any one hostile file may take (the corpus has 350 MB of traps)."""


@dataclass
class Run:
    """The corpus, the RAG it went into and what happened."""

    files: list[Hostile]
    docs: Path
    rag: RAG
    report: IngestReport
    connects: list[object]
    lookups: list[object]

    def result(self, path: Path) -> FileResult:
        found = [r for r in self.report.files if r.path == str(path)]
        assert len(found) == 1, f"{path.name}: {len(found)} results"
        return found[0]

    def all_chunks(self) -> list[Chunk]:
        total = self.rag.store.count()
        return [hit.chunk for hit in self.rag.search("anything", k=total)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, encoder: TransformerEncoder) -> Iterator[Run]:
    """Ingest the sample documents and the hostile corpus in one batch, once for the module."""
    root = tmp_path_factory.mktemp("hostile")
    docs = root / "docs"
    shutil.copytree(EXAMPLES, docs)
    files = make_corpus(root / "corpus", docs / "travel-policy.txt")
    connects: list[object] = []
    lookups: list[object] = []

    def record_connect(self: socket.socket, address: object) -> None:
        connects.append(address)
        raise RuntimeError(f"ingest tried to open a socket to {address!r}")

    def record_lookup(host: object, *args: object, **kwargs: object) -> list[object]:
        lookups.append(host)
        raise RuntimeError(f"ingest tried to look up {host!r}")

    rag = RAG(RAGConfig(store=StoreConfig(path=root / "store")), encoder=encoder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", record_connect)
        patch.setattr(socket.socket, "connect_ex", record_connect)
        patch.setattr(socket, "getaddrinfo", record_lookup)
        # An attachment (MAIL#NAME) is reported under that name, but only its mail is given.
        report = rag.ingest([docs, *(h.path for h in files if "#" not in h.path.name)])
    try:
        yield Run(files, docs, rag, report, connects, lookups)
    finally:
        rag.close()
        (root / "corpus" / "locked.txt").chmod(0o600)


def test_the_corpus_covers_every_kind_of_hostile_input(run: Run) -> None:
    assert len(run.files) >= 55
    names = {h.path.name for h in run.files}
    for kind in ("empty.pdf", "truncated.pdf", "encrypted.pdf", "scan.pdf", "noise.txt"):
        assert kind in names
    for kind in ("image.md", "latin1.txt", "utf16.txt", "utf16-odd.txt", "big.txt"):
        assert kind in names
    for kind in ("nested.html", "remote.html", "bomb.docx", "loop-a.txt", "locked.txt"):
        assert kind in names
    assert "program.exe" in names
    for kind in ("noise.pptx", "empty.xlsx", "locked.xlsx", "million.xlsx", "bomb-mail.eml"):
        assert kind in names
    assert (run.files[0].path.parent / "big.txt").stat().st_size == BIG_TEXT_BYTES


def test_each_bad_file_fails_with_one_line_naming_it_and_the_reason(run: Run) -> None:
    for hostile in run.files:
        result = run.result(hostile.path)
        if hostile.reason is None:
            continue
        assert result.status == "failed", hostile.path.name
        assert result.error is not None and "\n" not in result.error
        assert result.error.startswith(f"{hostile.path}: {hostile.reason}"), result.error


def test_files_that_can_be_read_are_ingested_and_found(run: Run) -> None:
    readable = [h for h in run.files if h.reason is None and h.words]
    assert len(readable) >= 7
    for hostile in readable:
        result = run.result(hostile.path)
        assert result.status == "ingested", result
        hits = run.rag.search(hostile.words, k=3)
        assert hits and hits[0].chunk.source == str(hostile.path.resolve()), hostile.path.name


def test_root_reads_a_file_whose_permission_bits_forbid_it_others_are_refused(run: Run) -> None:
    result = run.result(run.files[0].path.parent / "locked.txt")
    if os.geteuid() == 0:
        assert result.status == "ingested"  # root ignores permission bits: honest, not skipped
    else:
        assert result.error and result.error.endswith("cannot read file (permission denied)")


def test_the_sample_documents_go_in_and_answer_beside_the_hostile_files(run: Run) -> None:
    sample = [r for r in run.report.files if Path(r.path).parent == run.docs]
    assert sorted(r.status for r in sample) == ["ingested"] * 3
    for question, fact in SAMPLE_FACTS.items():
        assert fact in run.rag.ask(question).text


def test_nothing_is_stored_twice(run: Run) -> None:
    link = run.result(run.files[0].path.parent / "link-to-good.txt")
    assert link.status == "unchanged"  # the same document as the file it points to
    assert link.doc_id == run.result(run.docs / "travel-policy.txt").doc_id
    stored = run.rag.documents()
    ingested = {r.doc_id for r in run.report.files if r.status == "ingested"}
    assert {d.doc_id for d in stored} == ingested
    assert len({d.source for d in stored}) == len(stored)
    chunks = run.all_chunks()
    assert len({c.id for c in chunks}) == len(chunks) == sum(d.chunks for d in stored)


def test_a_second_batch_over_the_folder_changes_nothing_and_never_hangs(run: Run) -> None:
    again = run.rag.ingest([run.docs, run.files[0].path.parent])
    assert {r.status for r in again.files} <= {"unchanged", "failed"}
    assert all(r.error and "\n" not in r.error and r.path in r.error for r in again.failed)
    assert len(run.rag.documents()) == len({r.doc_id for r in run.report.files if r.doc_id})


def test_remote_resources_are_never_fetched_and_scripts_never_indexed(run: Run) -> None:
    assert run.connects == [] and run.lookups == []
    texts = [c.text for c in run.all_chunks()]
    assert any("aquarium filter sponge" in t for t in texts)
    assert not [t for t in texts if SCRIPT_WORD in t or REMOTE_HOST in t]


def test_an_external_entity_in_a_docx_is_not_expanded(run: Run) -> None:
    texts = [c.text for c in run.all_chunks() if c.source.endswith("xxe.docx")]
    assert texts and all("root:" not in t for t in texts)


def test_reading_any_hostile_file_takes_bounded_memory(run: Run) -> None:
    for hostile in run.files:
        tracemalloc.start()
        try:
            with contextlib.suppress(LoaderError):
                load_document(hostile.path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < HEAP_LIMIT, f"{hostile.path.name}: {peak / 1e6:.0f} MB"


def test_a_50_mb_text_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as out:
        out.truncate(BIG_TEXT_BYTES)  # sparse: the size is what counts
    tracemalloc.start()
    try:
        with pytest.raises(LoaderError, match=r"too large \(50.0 MB; the limit is 16 MB\)"):
            load_document(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
