"""Follow-up questions rewritten by the LLM: only with history, errors as GenerationError."""

from __future__ import annotations

import pytest
from fake_openai import FakeOpenAIServer

from rag.config import LLMConfig
from rag.errors import GenerationError
from rag.generation import OpenAIChatGenerator
from rag.generation.condense import HISTORY_TURNS, condense_messages, condense_question


def llm(server: FakeOpenAIServer) -> OpenAIChatGenerator:
    return OpenAIChatGenerator(
        LLMConfig(base_url=server.base_url, model="fake-model", max_retries=0)
    )


def test_no_history_means_no_call(openai_server: FakeOpenAIServer) -> None:
    assert condense_question([], "What is X?", llm(openai_server)) == "What is X?"
    assert openai_server.requests == []


def test_the_rewrite_sees_the_recent_history(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = "  How long is the notice period for interns?\n"
    history = [(f"q{i}", f"a{i}") for i in range(5)]
    result = condense_question(history, "And for interns?", llm(openai_server))
    assert result == "How long is the notice period for interns?"
    [request] = openai_server.requests
    assert request.messages == condense_messages(history, "And for interns?")
    asked = request.messages[-1]["content"]
    assert "q4" in asked and "a4" in asked and "q1" not in asked
    assert asked.count("User:") == HISTORY_TURNS


@pytest.mark.parametrize("status", [500, 429])
def test_endpoint_failures_are_generation_errors(
    openai_server: FakeOpenAIServer, status: int
) -> None:
    openai_server.fail_next(status)
    with pytest.raises(GenerationError, match=f"HTTP {status}") as caught:
        condense_question([("q", "a")], "and?", llm(openai_server))
    assert caught.value.status_code == status


def test_a_timeout_is_a_generation_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.delay = 2.0
    config = LLMConfig(base_url=openai_server.base_url, model="m", max_retries=0, timeout=0.2)
    with pytest.raises(GenerationError, match="timed out"):
        condense_question([("q", "a")], "and?", OpenAIChatGenerator(config))
