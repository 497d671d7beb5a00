"""The chat app under Streamlit's AppTest: ask, cite, upload, delete, pick, and fail politely."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAIServer
from streamlit.testing.v1 import AppTest

import ui.resources
from rag.access import Principal
from rag.config import AppConfig, ChunkingConfig, LLMConfig, RAGConfig
from rag.generation import SYSTEM_PROMPT
from rag.generation.condense import CONDENSE_PROMPT
from rag.stores.edge import EdgeStore

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MakeApp = Callable[..., AppTest]
Settle = Callable[[AppTest], AppTest]
QUESTION = "How many vacation days do new employees get?"


def ask(at: AppTest, question: str) -> AppTest:
    return at.chat_input[0].set_value(question).run()


def assistant_text(at: AppTest, index: int = -1) -> str:
    messages = [m for m in at.chat_message if m.name == "assistant"]
    return "\n".join(md.value for md in messages[index].markdown)


def sidebar_text(at: AppTest) -> str:
    return "\n".join(md.value for md in at.sidebar.markdown).replace("\\", "")


def sidebar_captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.sidebar.caption]


def headers(at: AppTest) -> list[str]:
    return [h.value for h in at.sidebar.subheader]


def typed(llm: LLMConfig | None = None) -> RAGConfig:
    """A configuration whose operator lets app users type LLM endpoints."""
    return RAGConfig(llm=llm or LLMConfig(), app=AppConfig(allow_user_llm_endpoints=True))


def use_llm(at: AppTest, server: FakeOpenAIServer) -> AppTest:
    at.text_input(key="llm_base_url").input(server.base_url)
    return at.text_input(key="llm_model").input("fake-model").run()


def test_answer_streams_with_a_citation_showing_the_span_in_its_page_text(
    make_app: MakeApp, docs: Path
) -> None:
    at = ask(make_app(), QUESTION)
    assert not at.exception
    assert "18 days" in assistant_text(at)
    [citation] = at.expander
    assert citation.label == "[1] handbook.md"
    html = citation.get("html")[0].proto.body
    marked = html.split('<mark class="cited">', 1)[1].split("</mark>", 1)[0]
    assert "18 days of paid vacation" in marked
    assert "Northwind Robotics builds warehouse robots" in html.split("<mark", 1)[0]
    assert str(docs / "handbook.md") in citation.caption[0].value.replace("\\", "")
    [download] = citation.get("download_button")
    assert download.proto.label == "Download handbook.md"

    at = ask(at, "What is the hotel limit in Tokyo?")
    assert "320 US dollars" in assistant_text(at)
    assert len([m for m in at.chat_message if m.name == "user"]) == 2  # history kept
    assert "18 days" in assistant_text(at, 0)


def test_sidebar_lists_documents_with_their_chunking_and_only_live_settings(
    make_app: MakeApp,
) -> None:
    at = make_app()
    text = sidebar_text(at)
    for name in ("handbook.md", "security.html", "travel-policy.txt"):
        assert name in text
    assert text.count(f"{ChunkingConfig().mode} chunking · structure chunker") == 3
    assert at.slider(key="top_k").value == 5
    labels = [w.label for w in (*at.sidebar.slider, *at.sidebar.text_input, *at.sidebar.checkbox)]
    assert not [label for label in labels if "hybrid" in label.lower() or "rerank" in label.lower()]
    assert "Dense search, boosted by file name, one passage a page." in [
        c.value for c in at.sidebar.caption
    ]
    assert [w.key for w in at.sidebar.text_input] == ["new_collection"]  # no endpoint to type


def test_upload_ingests_several_files_and_reports_each_failure(
    make_app: MakeApp, store: Path, settle: Settle
) -> None:
    at = make_app(max_upload_mb=1)
    at.file_uploader[0].set_value(
        [
            (
                "cafeteria.md",
                b"# Cafeteria\n\nThe cafeteria serves ramen every Friday.\n",
                "text/markdown",
            ),
            ("broken.pdf", b"this is not a pdf", "application/pdf"),
            (
                "../../parking rules.txt",
                b"Parking in the north lot is free for staff.\n",
                "text/plain",
            ),
            ("huge.txt", b"x" * (1024 * 1024 + 1), "text/plain"),
        ]
    ).run()
    at = settle(at.button(key="ingest").click().run())
    assert not at.exception
    lines = sidebar_text(at)
    assert ":green[:material/check_circle:] cafeteria.md: ingested" in lines
    assert "upload 'broken.pdf': content is not a PDF (no %PDF- header)" in lines
    assert "upload name '../../parking rules.txt' is a path: send a plain file name" in lines
    assert "upload 'huge.txt': 1.0 MiB is over the 1 MiB limit" in lines
    saved = sorted(p.name for p in (store / "uploads" / "default" / "anonymous").iterdir())
    assert saved == ["cafeteria.md"]  # refused files are never saved
    assert "Documents (4)" in headers(at)
    assert at.file_uploader[0].value in (None, [])  # emptied for the next batch

    at = ask(at, "What does the cafeteria serve on Fridays?")
    assert "ramen" in assistant_text(at)
    assert at.expander[0].label.endswith("cafeteria.md")


def test_an_ingest_goes_on_while_a_question_is_asked_and_is_not_offered_twice(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, settle: Settle
) -> None:
    started, gate = threading.Event(), threading.Event()
    ingest = ui.resources.Workspace.ingest

    def held(self: ui.resources.Workspace, paths: Any, *args: Any, **kwargs: Any) -> Any:
        started.set()
        if not gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return ingest(self, paths, *args, **kwargs)

    monkeypatch.setattr(ui.resources.Workspace, "ingest", held)
    files = [
        (f"{topic}.md", f"# {topic}\n\nThe {topic} opens at {hour} am.\n".encode(), "text/markdown")
        for topic, hour in (("gym", 6), ("library", 8), ("clinic", 9))
    ]
    at = make_app()
    at.file_uploader[0].set_value(files).run()
    at = at.button(key="ingest").click().run()  # returns while the ingest is held
    assert started.wait(30)
    assert "In progress: gym.md, library.md, clinic.md" in sidebar_captions(at)
    at = at.file_uploader[0].set_value(files).run()  # the same files dropped again meanwhile
    assert "ingest" not in [b.key for b in at.button]
    assert "Already being ingested: gym.md, library.md, clinic.md" in sidebar_captions(at)
    at = ask(at, QUESTION)  # a rerun: it used to stop the ingest
    assert "18 days" in assistant_text(at)
    gate.set()
    at = settle(at)
    lines = sidebar_text(at)
    for topic in ("gym", "library", "clinic"):
        assert f":green[:material/check_circle:] {topic}.md: ingested" in lines
    assert "Documents (6)" in headers(at)
    at = ask(at, "When does the clinic open?")
    assert "9 am" in assistant_text(at)

    gate.clear()  # a new version of gym.md, held again: its old version cannot be deleted now
    at.file_uploader[0].set_value(
        [("gym.md", b"# gym\n\nThe gym opens at 5 am.\n", "text/markdown")]
    )
    at = at.button(key="ingest").click().run()
    [button] = [b for b in at.sidebar.button if b.key.startswith("delete:") and "gym" in b.help]
    assert button.disabled and button.help == "gym.md is being ingested"
    gate.set()
    at = settle(at)
    [button] = [b for b in at.sidebar.button if b.key.startswith("delete:") and "gym" in b.help]
    assert not button.disabled


def test_failed_uploads_are_listed_and_deleted_in_the_app(
    make_app: MakeApp, store: Path, settle: Settle
) -> None:
    folder = store / "uploads" / "default" / "user-carol"
    folder.mkdir(parents=True)
    (folder / ".notes.md.0badc0de.part").write_bytes(b"# half")  # a save killed part way
    at = make_app(principal=Principal("carol"))
    at.file_uploader[0].set_value([("empty.md", b"   \n", "text/markdown")]).run()
    at = settle(at.button(key="ingest").click().run())
    assert not at.exception
    lines = sidebar_text(at)
    assert "notes.md: interrupted while saving" in lines
    assert "empty.md: not ingested" in lines
    for name in ("empty.md", "notes.md"):
        [button] = [b for b in at.sidebar.button if b.help == f"Delete the failed upload {name}"]
        at = button.click().run()
        assert at.sidebar.success[0].value == f"Deleted the failed upload {name}"
    assert "not ingested" not in sidebar_text(at) and list(folder.iterdir()) == []


def test_delete_asks_first_then_removes_the_document_from_list_and_answers(
    make_app: MakeApp, store: Path, docs: Path
) -> None:
    at = make_app()
    [button] = [b for b in at.sidebar.button if b.help == "Delete travel-policy.txt"]
    at = button.click().run()
    assert "Documents (3)" in headers(at)  # nothing gone before the user confirms
    [question] = at.sidebar.warning
    assert re.fullmatch(
        r"Delete travel-policy\.txt and its [1-9]\d* chunks?\?", question.value.replace("\\", "")
    )
    at = at.button(key="cancel_delete").click().run()
    assert "Documents (3)" in headers(at) and not at.sidebar.warning
    [button] = [b for b in at.sidebar.button if b.help == "Delete travel-policy.txt"]
    at = button.click().run()
    at = at.button(key="confirm_delete").click().run()
    [notice] = at.sidebar.success
    assert re.fullmatch(r"Deleted travel-policy\.txt \([1-9]\d* chunks?\)", notice.value)
    text = sidebar_text(at)
    assert "Documents (2)" in headers(at) and "travel-policy.txt" not in text
    assert (docs / "travel-policy.txt").exists()  # a file the app did not upload stays
    at = ask(at, "What is the hotel limit in Tokyo?")
    assert "travel-policy.txt" not in " ".join(e.label for e in at.expander)


def test_collection_picker_switches_collection_and_its_history(
    make_app: MakeApp, tmp_path: Path, store: Path, ingest: Callable[..., None]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "garden.txt").write_text("The roof garden opens at 7 am and closes at 9 pm.\n")
    ingest(store, other, collection="garden")
    at = ask(make_app(), QUESTION)
    assert at.selectbox(key="collection").options == ["default", "garden"]
    at = at.selectbox(key="collection").select("garden").run()
    assert "garden.txt" in sidebar_text(at) and "handbook.md" not in sidebar_text(at)
    assert not at.chat_message  # each collection keeps its own chat
    at = ask(at, "When does the roof garden open?")
    assert "7 am" in assistant_text(at)


def test_new_collection_starts_empty_and_rejects_bad_names(make_app: MakeApp) -> None:
    at = make_app()
    at.text_input(key="new_collection").input("bad name!")
    at = at.button(key="create_collection").click().run()
    assert "is not a collection name" in at.sidebar.error[0].value
    at.text_input(key="new_collection").input("fresh")
    at = at.button(key="create_collection").click().run()
    assert at.selectbox(key="collection").value == "fresh"
    assert "Documents (0)" in headers(at)
    assert at.chat_input[0].proto.disabled


def test_a_store_held_by_another_opener_is_reported_not_crashed(
    make_app: MakeApp, store: Path
) -> None:
    with EdgeStore(store / "default") as holder:
        assert holder.exists()
        at = make_app()
    assert not at.exception
    assert "in use by another process" in at.error[0].value


def test_answers_and_questions_are_shown_as_text_not_markdown(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    at = use_llm(make_app(typed()), openai_server)
    openai_server.reply = (
        "# 18 days\n[click](http://evil.example) ![x](http://evil.example/x.png) [1]"
    )
    at = ask(at, "# *How many* vacation days?")
    assert not at.exception
    shown = assistant_text(at)
    assert shown.startswith("\\# 18 days") and "\\[click\\]\\(http" in shown
    assert "\\!\\[x\\]" in shown and "](" not in shown
    user = [m for m in at.chat_message if m.name == "user"][-1]
    assert user.markdown[0].value == "\\# \\*How many\\* vacation days?"


@pytest.mark.parametrize("status", [500, 429])
def test_llm_endpoint_errors_become_chat_messages_and_the_app_goes_on(
    make_app: MakeApp, openai_server: FakeOpenAIServer, status: int
) -> None:
    at = use_llm(make_app(typed()), openai_server)
    openai_server.fail_next(status, times=3)  # the first try and both retries
    at = ask(at, QUESTION)
    assert not at.exception
    assert f"HTTP {status}" in at.error[0].value
    openai_server.reply = "New employees get 18 days of vacation [1]."
    at = ask(at, QUESTION)
    assert "18 days of vacation" in assistant_text(at)
    assert at.expander[-1].label == "[1] handbook.md"
    assert f"HTTP {status}" in at.error[0].value  # the failed turn stays in the history


def test_a_slow_llm_times_out_into_a_chat_message(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    at = use_llm(make_app(typed(LLMConfig(timeout=0.3))), openai_server)
    openai_server.delay = 5.0
    at = ask(at, QUESTION)
    assert not at.exception
    assert "timed out after 0.3s" in at.error[0].value


def test_unreachable_llm_is_a_chat_message(make_app: MakeApp) -> None:
    at = make_app(typed())
    at.text_input(key="llm_base_url").input("http://127.0.0.1:9/v1")
    at = at.text_input(key="llm_model").input("m").run()
    at = ask(at, QUESTION)
    assert not at.exception
    assert "unreachable" in at.error[0].value


def test_follow_up_is_condensed_with_the_history_before_retrieval(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    at = use_llm(make_app(typed()), openai_server)
    openai_server.reply = "New employees get 18 days of vacation [1]."
    at = ask(at, QUESTION)
    standalone = "What is the hotel limit per night in Tokyo?"
    openai_server.reply = standalone
    at = ask(at, "And for hotels there?")
    condense, answer = openai_server.requests[-2:]
    assert condense.messages[0]["content"] == CONDENSE_PROMPT
    assert answer.messages[0]["content"] == SYSTEM_PROMPT
    asked = condense.messages[-1]["content"]
    assert QUESTION in asked and "18 days of vacation" in asked and "And for hotels there?" in asked
    assert standalone in answer.messages[-1]["content"]
    captions = [c.value.replace("\\", "") for c in at.main.caption]
    assert f"Searched for: {standalone}" in captions
    assert "320 US dollars" in answer.messages[-1]["content"]  # retrieved with the rewrite


def test_extractive_mode_never_calls_an_llm(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    at = ask(make_app(), QUESTION)
    at = ask(at, "How many vacation days after three years of service?")
    assert "23 days" in assistant_text(at)
    assert openai_server.requests == []


def test_the_sidebar_key_is_used_but_never_shown(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    at = make_app(typed())
    key = at.text_input(key="llm_api_key")
    assert key.proto.type == key.proto.PASSWORD
    key.input("sk-test-SECRET")
    at = use_llm(at, openai_server)
    openai_server.fail_next(401)  # a server that echoes the refused key
    at = ask(at, QUESTION)
    assert openai_server.requests[-1].headers["authorization"] == "Bearer sk-test-SECRET"
    assert "refused the API key" in at.error[0].value
    shown = [e.value for e in (*at.error, *at.markdown, *at.caption, *at.sidebar.markdown)]
    assert not [text for text in shown if "SECRET" in str(text)]
