"""Search, upload-and-ingest, documents, delete, health and auth through the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.sdk import RAG
from rag.uploads import UploadError, check_name

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
NewRag = Callable[..., RAG]


def upload(*names: str, folder: Path = EXAMPLES) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (name, (folder / name).read_bytes())) for name in names]


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def api(new_rag: NewRag, uploads: Path) -> Iterator[TestClient]:
    with TestClient(create_app(new_rag(), upload_dir=uploads)) as client:
        yield client


def test_search_returns_ranked_hits_in_the_cli_shape(docs_rag: RAG, tmp_path: Path) -> None:
    client = TestClient(create_app(docs_rag, upload_dir=tmp_path))
    body = client.post("/search", json={"query": "password length", "k": 2}).json()
    assert body["query"] == "password length"
    assert [h["rank"] for h in body["hits"]] == [1, 2]
    top = body["hits"][0]
    assert top["source"].endswith("security.html") and "14 characters" in top["text"]
    assert {"id", "doc_id", "score", "char_span", "page_span", "headings"} <= top.keys()

    travel = str(EXAMPLES / "travel-policy.txt")
    only = client.post("/search", json={"query": "password length", "source": [travel]}).json()
    assert {h["source"] for h in only["hits"]} == {travel}


def test_bad_requests_get_an_openai_style_error(docs_rag: RAG, tmp_path: Path) -> None:
    client = TestClient(create_app(docs_rag, upload_dir=tmp_path))
    response = client.post("/search", json={"query": "", "k": 0})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "query" in error["message"] and "k" in error["message"]


def test_a_question_longer_than_the_model_window_is_answered(docs_rag: RAG, tmp_path: Path) -> None:
    question = (
        "I am writing the onboarding checklist for the new interns and contractors who join our "
        "robotics team next month, and I want to be sure that what I tell them about their "
        "accounts matches the information security policy exactly, because last year several "
        "people picked passwords that the password manager later flagged as too weak and we "
        "had to reset their accounts during their first week, which cost everyone time. "
    ) * 3 + "So: how many characters must a password have at the very least, and where is it kept?"
    assert len(docs_rag.encoder.tokenize(question)) > docs_rag.encoder.max_tokens
    client = TestClient(create_app(docs_rag, upload_dir=tmp_path))
    found = client.post("/search", json={"query": question, "k": 3})
    assert found.status_code == 200
    assert any(h["source"].endswith("security.html") for h in found.json()["hits"])
    chat = {"messages": [{"role": "user", "content": question}]}
    answer = client.post("/v1/chat/completions", json=chat)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]


def _json(body: object) -> dict[str, object]:
    """A JSON request whose strings may hold lone surrogates (sent as ``\\udXXX`` escapes)."""
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/search", {"query": "caf\ud800"}, "query"),
        ("/search", {"query": "ok", "source": ["a\udcff"]}, "source.0"),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "caf\ud800"}]},
            "messages.0.content",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "hi"}], "stream": True, "model": "\udfff"},
            "model",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "\ud83d"}]}]},
            "messages.0.content.0.text",
        ),
    ],
)
def test_text_that_is_not_unicode_is_a_422_naming_the_field(
    docs_rag: RAG, tmp_path: Path, route: str, body: object, field: str
) -> None:
    client = TestClient(create_app(docs_rag, upload_dir=tmp_path), raise_server_exceptions=False)
    response = client.post(route, **_json(body))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert f"the field '{field}' holds" in error["message"]


def test_upload_ingests_then_search_finds_and_delete_removes(
    api: TestClient, uploads: Path
) -> None:
    assert api.get("/health").json() == {"status": "ok", "collection": "docs", "documents": 0}
    assert api.post("/search", json={"query": "hotel"}).status_code == 404

    report = api.post("/ingest", files=upload("handbook.md", "travel-policy.txt")).json()
    assert report["ingested"] == 2 and report["failed"] == 0
    mine = uploads / "anonymous"
    assert sorted(p.name for p in mine.iterdir()) == ["handbook.md", "travel-policy.txt"]
    assert api.get("/health").json()["documents"] == 2

    hit = api.post("/search", json={"query": "hotel limit in Tokyo", "k": 1}).json()["hits"][0]
    assert "320 US dollars" in hit["text"] and hit["source"] == str(mine / "travel-policy.txt")

    again = api.post("/ingest", files=upload("travel-policy.txt")).json()
    assert again["unchanged"] == 1 and again["chunks"] == 0

    docs = api.get("/documents").json()["documents"]
    travel = next(d for d in docs if d["name"] == "travel-policy.txt")
    deleted = api.delete(f"/documents/{travel['doc_id']}").json()
    assert deleted == {"doc_id": travel["doc_id"], "deleted": travel["chunks"]}
    assert [p.name for p in mine.iterdir()] == ["handbook.md"]
    assert [d["name"] for d in api.get("/documents").json()["documents"]] == ["handbook.md"]
    missing = api.delete(f"/documents/{travel['doc_id']}")
    assert missing.status_code == 404 and "no stored document" in missing.json()["error"]["message"]


def test_a_new_upload_of_a_file_replaces_its_old_version(api: TestClient, tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_text("Hotels are paid up to 100 euros per night.\n")
    api.post("/ingest", files=upload("policy.md", folder=tmp_path))
    (tmp_path / "policy.md").write_text("Hotels are paid up to 250 euros per night.\n")
    report = api.post("/ingest", files=upload("policy.md", folder=tmp_path)).json()
    assert report["updated"] == 1
    hits = api.post("/search", json={"query": "hotel", "k": 5}).json()["hits"]
    assert [h["text"].strip() for h in hits] == ["Hotels are paid up to 250 euros per night."]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("../escape.md", 400),
        ("/etc/escape.md", 400),
        ("sub\\escape.md", 400),
        ("..", 400),
        (".hidden.md", 400),
        ("program.exe", 415),
    ],
)
def test_unsafe_or_unsupported_upload_names_are_refused(
    api: TestClient, uploads: Path, tmp_path: Path, name: str, status: int
) -> None:
    response = api.post("/ingest", files=[("files", (name, b"Hello there.\n"))])
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not (tmp_path / "escape.md").exists()


@pytest.mark.parametrize("name", ["tab\tname.md", "nul\x00.md", "x" * 300 + ".md", "", " "])
def test_control_characters_long_and_empty_names_are_refused(name: str) -> None:
    with pytest.raises(UploadError) as caught:
        check_name(name)
    assert caught.value.status == 400


def test_plain_names_pass_unchanged() -> None:
    assert check_name("Q3 report (final).PDF") == "Q3 report (final).PDF"


def test_a_request_without_files_is_refused(api: TestClient) -> None:
    response = api.post("/ingest", data={"note": "no file"})
    assert response.status_code == 400 and "multipart" in response.json()["error"]["message"]


def test_uploads_over_the_limit_get_413_even_when_chunked(new_rag: NewRag, uploads: Path) -> None:
    client = TestClient(create_app(new_rag(), upload_dir=uploads, max_upload_bytes=2000))
    big = b"A sentence about nothing much at all.\n" * 100
    response = client.post("/ingest", files=[("files", ("big.txt", big))])
    assert response.status_code == 413 and "2000 bytes" in response.json()["error"]["message"]

    boundary = "laterag-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    chunked = client.post(
        "/ingest",
        content=(body[i : i + 500] for i in range(0, len(body), 500)),  # no Content-Length
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert chunked.status_code == 413
    assert not uploads.exists() or not any(uploads.iterdir())

    small = client.post("/ingest", files=[("files", ("small.txt", b"Small enough.\n"))])
    assert small.status_code == 200 and small.json()["ingested"] == 1


def test_the_token_is_needed_on_every_route_but_health(new_rag: NewRag, uploads: Path) -> None:
    client = TestClient(create_app(new_rag(), token="tok-123", upload_dir=uploads))
    calls = [
        ("POST", "/search", {"json": {"query": "x"}}),
        ("POST", "/ingest", {"files": upload("handbook.md")}),
        ("GET", "/documents", {}),
        ("DELETE", "/documents/abc", {}),
        (
            "POST",
            "/v1/chat/completions",
            {"json": {"messages": [{"role": "user", "content": "x"}]}},
        ),
    ]
    for method, path, kwargs in calls:
        for headers in ({}, {"Authorization": "Bearer tok-12"}, {"Authorization": "tok-123"}):
            response = client.request(method, path, headers=headers, **kwargs)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
    assert not uploads.exists()
    assert client.get("/health").status_code == 200
    good = {"Authorization": "Bearer tok-123"}
    assert client.post("/ingest", files=upload("handbook.md"), headers=good).status_code == 200
    assert client.get("/documents", headers=good).json()["documents"][0]["name"] == "handbook.md"
