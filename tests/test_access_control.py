"""Per-document access control on every search path: no caller ever sees another's document."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as s
from streamlit.testing.v1 import AppTest

import ui.resources
from ingestion.loaders import load_document
from rag.access import Access, Principal, load_token_file
from rag.api import create_app
from rag.cli import run
from rag.config import ChunkingConfig, RAGConfig, RerankConfig, RetrievalConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.errors import ConfigError
from rag.generation import NO_ANSWER_TEXT
from rag.llama_index import LateRAGRetriever
from rag.protocols import VectorStore
from rag.sdk import RAG
from rag.stores.edge import EdgeStore
from rag.stores.server import ServerStore
from rag.types import SearchFilter, Tokens, WindowStates
from ui.settings import AppSettings, settings_env

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ALICE = Principal("alice", ("eng",))
BOB = Principal("bob", ("sales",))
ANONYMOUS = Principal()

DOCS = {
    # name: (text, access)
    "alice.md": (
        "# Falcon budget\n\nAlice's private notes: the falcon launch budget is 12 million "
        "dollars and the launch meeting is in March.",
        Access(users=("alice",)),
    ),
    "bob.md": (
        "# Orchid merger\n\nBob's private notes: the orchid merger budget closes in June and "
        "each orchid shareholder gets 3 new shares at the meeting.",
        Access(users=("bob",)),
    ),
    "eng.md": (
        "# Kraken runbook\n\nEngineering only: rotate the kraken database keys weekly and "
        "report the launch status at the Monday meeting.",
        Access(groups=("eng",)),
    ),
    "sales.md": (
        "# Pipeline review\n\nSales only: the quarterly pipeline budget and the discount "
        "policy are reviewed at the Friday meeting.",
        Access(groups=("sales",)),
    ),
    "both.md": (
        "# Shared plan\n\nFor Alice and Bob: the joint offsite budget covers the hotel and "
        "the launch dinner after the meeting.",
        Access(users=("alice", "bob")),
    ),
    "public.md": (
        "# Cafeteria\n\nEveryone: the cafeteria serves soup on Monday and pasta on Friday; "
        "the budget meeting room is on floor two.",
        Access(),
    ),
}

READS = {
    "alice": {"alice.md", "eng.md", "both.md", "public.md"},
    "bob": {"bob.md", "sales.md", "both.md", "public.md"},
    "anonymous": {"public.md"},
}
PRINCIPALS = {"alice": ALICE, "bob": BOB, "anonymous": ANONYMOUS}
VOCABULARY = sorted(
    {w.lower() for text, _ in DOCS.values() for w in re.findall(r"[A-Za-z]+", text)}
    | {"vacation", "password", "tokyo", "secret"}
)


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (text, _) in DOCS.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    return folder


def ingest_all(rag: RAG, folder: Path) -> None:
    """Ingest every document with its access rule; ``public.md`` with none given at all."""
    for name, (_, access) in DOCS.items():
        report = rag.ingest([folder / name], access=None if access.public else access)
        assert not report.failed, report.failed


def names(sources: object) -> set[str]:
    return {Path(str(source)).name for source in sources}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_docs(tmp_path_factory.mktemp("access") / "docs")


def _stores(folder: Path) -> dict[str, VectorStore]:
    return {
        "edge": EdgeStore(folder / "store", collection="access"),
        "server": ServerStore(location=":memory:", collection="access"),
    }


@pytest.fixture(scope="module", params=["edge", "server"])
def rags(
    request: pytest.FixtureRequest,
    corpus: Path,
    encoder: TransformerEncoder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RAG]]:
    """One ingested store seen by a dense RAG and a hybrid RAG that reranks its candidates."""
    store = _stores(tmp_path_factory.mktemp(request.param))[request.param]
    dense = RAG(RAGConfig(), encoder=encoder, store=store)
    hybrid = RAG(
        RAGConfig(
            retrieval=RetrievalConfig(hybrid=True),
            rerank=RerankConfig(kind="embedding", candidates=12),
        ),
        encoder=encoder,
        store=store,
    )
    ingest_all(dense, corpus)
    yield {"dense": dense, "hybrid": hybrid}
    dense.close()


class HashEncoder:
    """A fast stand-in encoder: every word has a fixed random vector; texts sum theirs.

    The access filter does not depend on the model, so the 1,000-query property test uses
    this to stay quick on a busy machine; the tests above search with the real MiniLM.
    """

    name = "test/hash-words"
    dim = 32
    max_tokens = 512
    content_window = 510
    runtime = {"device": "cpu", "precision": "fp32", "backend": "fake"}

    def tokenize(self, text: str) -> Tokens:
        """Words and punctuation, each id a hash of the lower-cased word."""
        found = list(re.finditer(r"\w+|[^\w\s]", text))
        ids = tuple(zlib.crc32(m.group().lower().encode()) for m in found)
        return Tokens(ids, tuple(m.span() for m in found))

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """One normalised sum of word vectors per text."""
        rows = []
        for text in texts:
            total = np.full(self.dim, 1e-3, dtype=np.float32)
            for word in self.tokenize(text).ids:
                total += np.random.default_rng(word).standard_normal(self.dim).astype(np.float32)
            rows.append(total / np.linalg.norm(total))
        return np.stack(rows)

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Not used: the property test chunks naively."""
        raise NotImplementedError("HashEncoder supports naive chunking only")


@pytest.fixture(scope="module", params=["edge", "server"])
def fast_rags(
    request: pytest.FixtureRequest, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RAG]]:
    """Like ``rags``, with ``HashEncoder`` and 16-token chunks (several per document)."""
    store = _stores(tmp_path_factory.mktemp(request.param))[request.param]
    encoder = HashEncoder()
    chunking = ChunkingConfig(mode="naive", chunk_size=16)
    dense = RAG(RAGConfig(chunking=chunking), encoder=encoder, store=store)  # type: ignore[arg-type]
    hybrid = RAG(
        RAGConfig(
            chunking=chunking,
            retrieval=RetrievalConfig(hybrid=True),
            rerank=RerankConfig(kind="embedding", candidates=12),
        ),
        encoder=encoder,  # type: ignore[arg-type]
        store=store,
    )
    ingest_all(dense, corpus)
    assert store.count() > 2 * len(DOCS)
    yield {"dense": dense, "hybrid": hybrid}
    dense.close()


def test_a_thousand_random_queries_never_return_a_document_the_caller_may_not_read(
    fast_rags: dict[str, RAG],
) -> None:
    rags = fast_rags
    seen: dict[str, set[str]] = {"alice": set(), "bob": set()}

    @settings(max_examples=1000, deadline=None, derandomize=True, database=None)
    @given(
        user=s.sampled_from(["alice", "bob"]),
        words=s.lists(s.sampled_from(VOCABULARY), min_size=1, max_size=6),
        k=s.integers(min_value=1, max_value=12),
        mode=s.sampled_from(["dense", "hybrid"]),
    )
    def check(user: str, words: list[str], k: int, mode: str) -> None:
        hits = rags[mode].search(" ".join(words), k, principal=PRINCIPALS[user])
        found = names(h.chunk.source for h in hits)
        assert found <= READS[user], f"{user} got {found - READS[user]} for {words!r}"
        seen[user] |= found

    check()
    # not vacuous: each user reached every document it may read, and only those
    assert seen == {"alice": READS["alice"], "bob": READS["bob"]}


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_each_user_finds_its_own_document_first_and_others_see_only_public(
    rags: dict[str, RAG], mode: str
) -> None:
    rag = rags[mode]
    query = "falcon launch budget 12 million"
    assert names([rag.search(query, 1, principal=ALICE)[0].chunk.source]) == {"alice.md"}
    for who, principal in (("bob", BOB), ("anonymous", ANONYMOUS), ("anonymous", None)):
        hits = rag.search(query, 20, principal=principal)
        assert names(h.chunk.source for h in hits) == READS[who]
    # a source filter for another's document finds nothing instead of leaking it
    alice_doc = next(d for d in rag.all_documents() if d.source.endswith("alice.md"))
    only_alice = SearchFilter(doc_ids=(alice_doc.doc_id,))
    assert rag.search(query, 5, only_alice, principal=BOB) == []
    assert rag.search(query, 5, only_alice) == []
    # a filter that claims readers is replaced by the caller's own
    claimed = SearchFilter(readers=("user:alice",))
    assert "alice.md" not in names(h.chunk.source for h in rag.search(query, 20, claimed))


def test_listings_and_answers_are_limited_to_the_caller(rags: dict[str, RAG]) -> None:
    rag = rags["dense"]
    for who, principal in PRINCIPALS.items():
        assert names(d.source for d in rag.documents(principal=principal)) == READS[who]
        answer = rag.ask("What is the falcon launch budget?", 10, principal=principal)
        assert names(c.source for c in answer.citations) <= READS[who]
        assert names(h.chunk.source for h in answer.hits) <= READS[who]
    assert names(d.source for d in rag.documents()) == {"public.md"}
    assert len(rag.all_documents()) == len(DOCS) == rag.stats()["documents"]
    assert "access" not in rag.stats()["settings"]


def test_async_paths_apply_the_caller(rags: dict[str, RAG]) -> None:
    rag = rags["hybrid"]

    async def main() -> None:
        hits = await rag.asearch("orchid merger shares", 20, principal=ALICE)
        assert names(h.chunk.source for h in hits) <= READS["alice"]
        answer = await rag.aask("How many orchid shares?", 20, principal=BOB)
        assert "bob.md" in names(c.source for c in answer.citations)
        stream = await rag.astream("How many orchid shares?", 20)
        async for _ in stream:
            pass
        assert stream.answer is not None
        assert names(h.chunk.source for h in stream.answer.hits) == {"public.md"}

    asyncio.run(main())


def test_llama_index_retriever_applies_the_principal(rags: dict[str, RAG]) -> None:
    rag = rags["dense"]
    for who in ("alice", "bob", "anonymous"):
        nodes = LateRAGRetriever(rag, k=20, principal=PRINCIPALS[who]).retrieve("launch budget")
        assert names(n.node.metadata["source"] for n in nodes) == READS[who]
    bare = LateRAGRetriever(rag.retriever, k=20, principal=BOB).retrieve("falcon budget")
    assert names(n.node.metadata["source"] for n in bare) == READS["bob"]
    anonymous = LateRAGRetriever(rag.retriever, k=20).retrieve("falcon budget")
    assert names(n.node.metadata["source"] for n in anonymous) == {"public.md"}


def test_a_document_made_before_access_control_is_public_and_rules_can_change(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    folder = write_docs(tmp_path / "docs")
    with RAG(RAGConfig(store=StoreConfig(path=tmp_path / "store")), encoder=encoder) as rag:
        ingest_all(rag, folder)
        # a chunk stored before access control has no access key in its payload: public
        old = dataclasses.replace(load_document(folder / "alice.md"), id="legacy")
        legacy = [
            dataclasses.replace(c, metadata={"model": encoder.name})
            for c in rag._builder().build(old)
        ]
        assert legacy and all("access" not in c.metadata for c in legacy)
        rag.store.upsert(legacy)
        assert "legacy" in {d.doc_id for d in rag.documents(principal=BOB)}
        assert "legacy" in {h.chunk.doc_id for h in rag.search("falcon budget", 20)}
        rag.store.delete_document("legacy")

        # re-ingesting with another rule replaces it: public, then private again
        report = rag.ingest([folder / "alice.md"])
        assert report.files[0].status == "updated"
        assert "alice.md" in names(d.source for d in rag.documents())
        assert rag.ingest([folder / "alice.md"]).files[0].status == "unchanged"
        rag.ingest([folder / "alice.md"], access=Access(users=("alice",)))
        assert "alice.md" not in names(d.source for d in rag.documents(principal=BOB))
        assert (
            names(h.chunk.source for h in rag.search("falcon", 20, principal=BOB)) <= READS["bob"]
        )


def test_names_are_checked() -> None:
    with pytest.raises(ConfigError, match="user name"):
        Principal("  ")
    with pytest.raises(ConfigError, match="list of names"):
        Access(groups="eng")  # type: ignore[arg-type]
    assert Access.of(["bob", "alice", "bob"], None).tags() == ["user:alice", "user:bob"]
    assert Access().tags() is None
    assert Principal.of("", ["x"]).readers() == ("group:x",)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = run([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result: dict = json.loads(out)
    return result


def test_cli_ingest_search_ask_and_batch_apply_the_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_docs(tmp_path / "docs")
    store = ["--store", str(tmp_path / "store")]
    cli(capsys, "ingest", str(folder / "alice.md"), "--allow-user", "alice", *store)
    cli(capsys, "ingest", str(folder / "eng.md"), "--allow-group", "eng", *store)
    cli(capsys, "ingest", str(folder / "public.md"), *store)
    query = "falcon launch budget"

    def found(*who: str) -> set[str]:
        hits = cli(capsys, "search", query, "-k", "10", *who, *store)["hits"]
        return names(h["source"] for h in hits)

    assert found("--user", "alice") == {"alice.md", "public.md"}
    assert found("--user", "bob", "--group", "eng") == {"eng.md", "public.md"}
    assert found() == {"public.md"}

    answer = cli(capsys, "ask", "What is the falcon budget?", "--user", "bob", *store)
    assert names(c["source"] for c in answer["citations"]) <= {"public.md", "eng.md"}

    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "question": "falcon launch budget?"}) + "\n")
    for user, allowed in (("bob", {"public.md"}), ("alice", {"alice.md", "public.md"})):
        output = tmp_path / f"{user}.jsonl"
        cli(capsys, "batch", str(questions), "-o", str(output), "--user", user, *store)
        record = json.loads(output.read_text().splitlines()[0])
        assert record["error"] is None
        assert names(c["source"] for c in record["citations"]) <= allowed
    cited = json.loads((tmp_path / "alice.jsonl").read_text())["citations"]
    assert "alice.md" in names(c["source"] for c in cited)


@pytest.fixture
def api(
    tmp_path: Path, corpus: Path, encoder: TransformerEncoder
) -> Iterator[tuple[TestClient, RAG]]:
    rag = RAG(RAGConfig(), encoder=encoder, store=ServerStore(location=":memory:"))
    ingest_all(rag, corpus)
    tokens = {"tok-alice": ALICE, "tok-bob": BOB}
    app = create_app(rag, token="tok-anon", tokens=tokens, upload_dir=tmp_path / "up")
    with TestClient(app) as client:
        yield client, rag
    rag.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_http_api_callers_come_from_their_tokens(api: tuple[TestClient, RAG]) -> None:
    client, rag = api
    body = {"query": "falcon launch budget", "k": 20}
    for token, who in (("tok-alice", "alice"), ("tok-bob", "bob"), ("tok-anon", "anonymous")):
        hits = client.post("/search", json=body, headers=bearer(token)).json()["hits"]
        assert names(h["source"] for h in hits) == READS[who]
        docs = client.get("/documents", headers=bearer(token)).json()["documents"]
        assert names(d["source"] for d in docs) == READS[who]
        chat = {"messages": [{"role": "user", "content": "falcon budget?"}], "k": 20}
        reply = client.post("/v1/chat/completions", json=chat, headers=bearer(token)).json()
        assert names(c["source"] for c in reply["citations"]) <= READS[who]
    streamed = client.post(
        "/v1/chat/completions", json={**chat, "stream": True}, headers=bearer("tok-bob")
    ).text
    events = [json.loads(line[6:]) for line in streamed.splitlines() if line[6:].startswith("{")]
    cited = names(c["source"] for c in events[-1]["citations"])
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert cited <= READS["bob"] and (cited or text == NO_ANSWER_TEXT)
    # no identity header or unknown token gets in; a claimed identity header is ignored
    assert client.post("/search", json=body).status_code == 401
    assert client.post("/search", json=body, headers=bearer("tok-eve")).status_code == 401
    spoofed = client.post(
        "/search", json=body, headers={**bearer("tok-bob"), "X-User": "alice"}
    ).json()["hits"]
    assert "alice.md" not in names(h["source"] for h in spoofed)
    assert client.get("/health").json()["documents"] == 1


def test_http_api_delete_and_upload_respect_access(
    api: tuple[TestClient, RAG], tmp_path: Path
) -> None:
    client, rag = api
    alice_doc = next(d for d in rag.all_documents() if d.source.endswith("alice.md"))
    gone = client.delete(f"/documents/{alice_doc.doc_id}", headers=bearer("tok-bob"))
    assert gone.status_code == 404
    assert alice_doc.doc_id in {d.doc_id for d in rag.all_documents()}
    upload = client.post(
        "/ingest",
        files={"file": ("memo.md", b"# Memo\n\nThe zebra project codename is Quartz.\n")},
        data={"allow_user": "bob"},
        headers=bearer("tok-bob"),
    )
    assert upload.status_code == 200, upload.text
    for token, sees in (("tok-bob", True), ("tok-alice", False), ("tok-anon", False)):
        body = {"query": "zebra project codename", "k": 20}
        hits = client.post("/search", json=body, headers=bearer(token)).json()["hits"]
        assert ("memo.md" in names(h["source"] for h in hits)) is sees
    ok = client.delete(f"/documents/{alice_doc.doc_id}", headers=bearer("tok-alice"))
    assert ok.status_code == 200 and ok.json()["deleted"] >= 1


ROADMAP = b"# Q3 roadmap\n\nAlice's plan: the heron project ships in September.\n"


def post(client: TestClient, token: str, name: str, data: bytes, **form: str) -> Any:
    return client.post("/ingest", files={"file": (name, data)}, data=form, headers=bearer(token))


def test_uploads_are_owned_and_statuses_say_nothing_of_others(
    api: tuple[TestClient, RAG], tmp_path: Path
) -> None:
    client, rag = api
    first = post(client, "tok-alice", "q3_roadmap.md", ROADMAP, allow_user="alice").json()
    [alices] = first["files"]
    assert alices["status"] == "ingested"
    # Bob's upload of the same name is his own document: no "updated", Alice's stays hers
    other = b"# Q3 roadmap\n\nBob's plan: the heron project is cancelled.\n"
    [bobs] = post(client, "tok-bob", "q3_roadmap.md", other).json()["files"]
    assert bobs["status"] == "ingested" and bobs["doc_id"] != alices["doc_id"]
    # Alice's exact bytes do not answer "unchanged" to Bob (no content oracle)
    [again] = post(client, "tok-bob", "q3_roadmap.md", ROADMAP, allow_user="bob").json()["files"]
    assert again["status"] == "updated" and again["doc_id"] == bobs["doc_id"]
    stored = {d.doc_id: d for d in rag.all_documents()}
    assert stored[alices["doc_id"]].metadata["access"] == ["user:alice"]
    assert stored[again["doc_id"]].metadata["access"] == ["user:bob"]
    body = {"query": "heron project", "k": 20}
    for token, owner in (("tok-alice", "user-alice"), ("tok-bob", "user-bob")):
        hits = client.post("/search", json=body, headers=bearer(token)).json()["hits"]
        roadmaps = {h["source"] for h in hits if h["source"].endswith("q3_roadmap.md")}
        assert roadmaps == {str(tmp_path / "up" / owner / "q3_roadmap.md")}
    # Bob cannot delete Alice's upload, public or not; Alice can
    [shared] = post(client, "tok-alice", "menu.md", b"# Menu\n\nSoup on Monday.\n").json()["files"]
    for doc_id, status in ((alices["doc_id"], 404), (shared["doc_id"], 403)):
        refused = client.delete(f"/documents/{doc_id}", headers=bearer("tok-bob"))
        assert refused.status_code == status, refused.text
    assert "only its uploader" in refused.json()["error"]["message"]
    assert shared["doc_id"] in {d.doc_id for d in rag.all_documents()}
    mine = client.delete(f"/documents/{shared['doc_id']}", headers=bearer("tok-alice"))
    assert mine.status_code == 200
    assert not (tmp_path / "up" / "user-alice" / "menu.md").exists()


def test_an_upload_may_be_restricted_only_to_its_uploader_and_its_groups(
    api: tuple[TestClient, RAG], tmp_path: Path
) -> None:
    client, rag = api
    text = b"# Planted\n\nThe falcon launch budget was moved to Bob's account.\n"
    for token, form in (
        ("tok-bob", {"allow_user": "alice"}),
        ("tok-bob", {"allow_group": "eng"}),  # Bob is not in eng
        ("tok-anon", {"allow_user": "alice"}),
    ):
        refused = post(client, token, "planted.md", text, **form)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["type"] == "permission_error"
    assert not (tmp_path / "up").exists()
    [grouped] = post(client, "tok-bob", "deal.md", text, allow_group="sales").json()["files"]
    [info] = [d for d in rag.all_documents() if d.doc_id == grouped["doc_id"]]
    assert info.metadata["access"] == ["user:bob", "group:sales"]  # the uploader always reads
    hits = client.post(
        "/search", json={"query": "falcon launch budget", "k": 20}, headers=bearer("tok-alice")
    ).json()["hits"]
    assert not [h for h in hits if "Planted" in h["text"]]


def test_token_file_maps_tokens_to_callers(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"t1": {"user": "alice", "groups": ["eng"]}, "t2": {}}))
    assert load_token_file(path) == {"t1": ALICE, "t2": ANONYMOUS}
    path.write_text(json.dumps({"t1": {"user": "alice", "role": "admin"}}))
    with pytest.raises(ConfigError, match="unknown keys"):
        load_token_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_token_file(tmp_path / "missing.json")


def test_ui_lists_and_answers_only_what_its_user_may_read(
    tmp_path: Path, corpus: Path, encoder: TransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RAG(RAGConfig(store=StoreConfig(path=tmp_path / "store")), encoder=encoder) as rag:
        ingest_all(rag, corpus)
    monkeypatch.setattr(ui.resources, "build_encoder", lambda config: encoder)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = RAGConfig(store=StoreConfig(path=tmp_path / "store"))
    app = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
    try:
        for user, groups, who in (("bob", ["sales"], "bob"), (None, [], "anonymous")):
            caller = AppSettings(config, principal=Principal.of(user, groups))
            for name, value in settings_env(caller).items():
                monkeypatch.setenv(name, value)
            at = AppTest.from_file(app, default_timeout=60).run()
            listed = "\n".join(md.value for md in at.sidebar.markdown).replace("\\", "")
            shown = {name for name in DOCS if name in listed}
            assert shown == READS[who]
            captions = " ".join(c.value for c in at.sidebar.caption)
            assert ("bob" in captions) is (who == "bob")
            at = at.chat_input[0].set_value("What is the falcon launch budget?").run()
            answer = [m for m in at.chat_message if m.name == "assistant"][-1]
            assert "12 million" not in " ".join(md.value for md in answer.markdown)
            cited = {e.label.split()[-1] for e in at.expander}
            refused = "No passage answers this question" in " ".join(
                md.value.replace("\\", "") for md in answer.markdown
            )
            assert cited <= READS[who] and (cited or refused)
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
