"""The real ``openai`` client, pointed at the API in a real uvicorn, gets cited answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest
from fake_openai import FakeOpenAIServer
from fastapi import FastAPI

from rag.api import create_app
from rag.config import LLMConfig
from rag.generation import NO_ANSWER_TEXT
from rag.generation.condense import condense_messages
from rag.generation.prompt import SYSTEM_PROMPT
from rag.sdk import RAG

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
VACATION = "How many vacation days do new employees get?"
Serve = Callable[[FastAPI], str]
NewRag = Callable[..., RAG]


def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def ask(url: str, question: str, key: str = "unused") -> openai.ChatCompletion:
    return client(url, key).chat.completions.create(
        model="anything", messages=[{"role": "user", "content": question}]
    )


def test_openai_client_streams_a_cited_answer(docs_rag: RAG, serve: Serve, tmp_path: Path) -> None:
    url = serve(create_app(docs_rag, upload_dir=tmp_path))
    stream = client(url).chat.completions.create(
        model="anything",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi, ask me about the handbook."},
            {"role": "user", "content": VACATION},
        ],
        stream=True,
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len([c for c in chunks if c.choices[0].delta.content]) > 1  # really streamed
    assert "18 days" in text
    assert {c.model for c in chunks} == {"extractive"}
    assert chunks[-1].choices[0].finish_reason == "stop"
    citations = chunks[-1].model_extra["citations"]
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    assert numbers and numbers == {c["number"] for c in citations}
    handbook = next(c for c in citations if c["source"].endswith("handbook.md"))
    start, end = handbook["char_span"]
    assert (EXAMPLES / "handbook.md").read_text()[start:end] == handbook["text"]


def test_openai_client_gets_a_whole_answer_with_citations(
    docs_rag: RAG, serve: Serve, tmp_path: Path
) -> None:
    url = serve(create_app(docs_rag, upload_dir=tmp_path))
    completion = ask(url, VACATION)
    message = completion.choices[0].message
    assert message.role == "assistant" and "18 days" in (message.content or "")
    assert completion.model == "extractive"
    citations = completion.model_extra["citations"]
    assert citations[0]["source"].endswith("handbook.md")
    assert f"[{citations[0]['number']}]" in (message.content or "")


def test_search_options_ride_in_the_extra_body(docs_rag: RAG, serve: Serve, tmp_path: Path) -> None:
    url = serve(create_app(docs_rag, upload_dir=tmp_path))
    travel = str(EXAMPLES / "travel-policy.txt")
    completion = client(url).chat.completions.create(
        model="anything",
        messages=[{"role": "user", "content": VACATION}],
        extra_body={"source": travel, "k": 1},
    )
    # Only the travel policy is searched, and it says nothing about vacation days.
    assert completion.model_extra["citations"] == []
    assert completion.choices[0].message.content == NO_ANSWER_TEXT


def test_an_llm_behind_the_api_answers_and_names_itself(
    new_rag: NewRag, openai_server: FakeOpenAIServer, serve: Serve, tmp_path: Path
) -> None:
    openai_server.reply = "New employees get 18 days of vacation [1]."
    llm = LLMConfig(base_url=openai_server.base_url, model="fake-model", max_retries=0)
    rag = new_rag(llm)
    rag.ingest([EXAMPLES / "handbook.md"])
    url = serve(create_app(rag, upload_dir=tmp_path))
    chunks = list(
        client(url).chat.completions.create(
            model="whatever", messages=[{"role": "user", "content": VACATION}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == openai_server.reply
    assert chunks[-1].model == "fake-model"
    [citation] = chunks[-1].model_extra["citations"]
    assert citation["number"] == 1 and citation["source"].endswith("handbook.md")
    assert VACATION in openai_server.requests[-1].messages[-1]["content"]


def test_an_llm_failing_mid_stream_reaches_the_client_as_an_error(
    new_rag: NewRag, openai_server: FakeOpenAIServer, serve: Serve, tmp_path: Path
) -> None:
    openai_server.drop_midstream = True
    llm = LLMConfig(base_url=openai_server.base_url, model="fake-model", max_retries=0)
    rag = new_rag(llm)
    rag.ingest([EXAMPLES / "handbook.md"])
    url = serve(create_app(rag, upload_dir=tmp_path))
    stream = client(url).chat.completions.create(
        model="m", messages=[{"role": "user", "content": VACATION}], stream=True
    )
    with pytest.raises(openai.APIError, match="dropped the connection"):
        list(stream)
    openai_server.drop_midstream = False  # the lock was released: the next answer works
    assert ask(url, VACATION).choices[0].message.content == openai_server.reply


def test_a_bearer_token_guards_everything_but_health(
    docs_rag: RAG, serve: Serve, tmp_path: Path
) -> None:
    url = serve(create_app(docs_rag, token="s3cret-token", upload_dir=tmp_path))
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(url, VACATION, key="wrong")
    assert "s3cret-token" not in str(caught.value)
    assert "18 days" in (ask(url, VACATION, key="s3cret-token").choices[0].message.content or "")
    health = httpx.get(f"{url}/health")
    assert health.status_code == 200 and health.json()["documents"] == 3
    assert httpx.post(f"{url}/search", json={"query": "x"}).status_code == 401


def test_requests_without_a_question_or_collection_are_refused(
    new_rag: NewRag, serve: Serve, tmp_path: Path
) -> None:
    url = serve(create_app(new_rag(), upload_dir=tmp_path))
    with pytest.raises(openai.NotFoundError, match="POST /ingest first"):
        ask(url, VACATION)
    with pytest.raises(openai.BadRequestError, match="no user message"):
        client(url).chat.completions.create(
            model="m", messages=[{"role": "system", "content": "hi"}]
        )


def _served_with_llm(new_rag: NewRag, server: FakeOpenAIServer, serve: Serve, uploads: Path) -> str:
    """The URL of an API over examples/docs answering with the fake LLM."""
    rag = new_rag(LLMConfig(base_url=server.base_url, model="fake-model", max_retries=0))
    assert not rag.ingest([EXAMPLES]).failed
    return serve(create_app(rag, upload_dir=uploads))


def test_a_follow_up_is_condensed_with_the_history_and_system_messages_instruct(
    new_rag: NewRag, openai_server: FakeOpenAIServer, serve: Serve, tmp_path: Path
) -> None:
    openai_server.reply = "How many vacation days do employees get after five years?"
    url = _served_with_llm(new_rag, openai_server, serve, tmp_path)
    client(url).chat.completions.create(
        model="m",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": VACATION},
            {"role": "assistant", "content": "New employees get 18 days [1]."},
            {"role": "user", "content": "And after five years?"},
        ],
    )
    condense, answer = openai_server.requests[-2:]
    assert condense.messages == condense_messages(
        [(VACATION, "New employees get 18 days [1].")], "And after five years?"
    )
    system, user = answer.messages
    assert system["content"].startswith(SYSTEM_PROMPT)  # the fixed rules come first
    assert "<instructions>\nAnswer in French.\n</instructions>" in system["content"]
    assert user["content"].endswith(f"Question: {openai_server.reply}")  # searched and asked


def test_a_first_question_is_not_condensed_and_without_system_messages_the_prompt_is_fixed(
    new_rag: NewRag, openai_server: FakeOpenAIServer, serve: Serve, tmp_path: Path
) -> None:
    url = _served_with_llm(new_rag, openai_server, serve, tmp_path)
    ask(url, VACATION)
    [answer] = openai_server.requests
    assert answer.messages[0]["content"] == SYSTEM_PROMPT
    assert answer.messages[1]["content"].endswith(f"Question: {VACATION}")
