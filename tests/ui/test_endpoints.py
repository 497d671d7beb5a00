"""The endpoint rule: the server's LLM key only ever goes to the server's configured endpoint."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_openai import FakeOpenAIServer
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from rag.config import AppConfig, LLMConfig, RAGConfig
from rag.errors import ConfigError
from ui.endpoints import chat_llm

MakeApp = Callable[..., AppTest]
QUESTION = "How many vacation days do new employees get?"
SERVER = LLMConfig(
    base_url="http://127.0.0.1:8080/v1", model="m", api_key=SecretStr("sk-server"), timeout=9
)


def key_of(llm: LLMConfig) -> str | None:
    return llm.api_key.get_secret_value() if llm.api_key else None


def test_the_server_key_goes_only_with_the_server_endpoint() -> None:
    assert key_of(chat_llm(SERVER, SERVER.base_url, "other-model", "")) == "sk-server"
    elsewhere = chat_llm(SERVER, "http://evil.example/v1", "m", "")
    assert elsewhere.base_url == "http://evil.example/v1" and key_of(elsewhere) is None
    assert elsewhere.timeout == 9  # the operator's timeout and retries still hold
    assert key_of(chat_llm(SERVER, "http://127.0.0.1:8080/v1/", "m", None)) is None  # not equal
    assert key_of(chat_llm(SERVER, "http://evil.example/v1", "m", "sk-mine")) == "sk-mine"
    assert not chat_llm(SERVER, " ", "", "sk-mine").enabled  # nothing typed: extractive
    with pytest.raises(ConfigError, match="both"):
        chat_llm(SERVER, "http://evil.example/v1", "", "")


def ask(at: AppTest, question: str = QUESTION) -> AppTest:
    return at.chat_input[0].set_value(question).run()


def configured(server: FakeOpenAIServer, *, typed: bool) -> RAGConfig:
    llm = LLMConfig(base_url=server.base_url, model="fake", api_key=SecretStr("sk-server"))
    return RAGConfig(llm=llm, app=AppConfig(allow_user_llm_endpoints=typed))


@pytest.mark.slow
@pytest.mark.integration
def test_by_default_the_app_calls_only_the_configured_endpoint(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply = "New employees get 18 days of vacation [1]."
    at = make_app(configured(openai_server, typed=False))
    assert not [w for w in at.sidebar.text_input if w.key in ("llm_base_url", "llm_api_key")]
    at = ask(at)
    assert [r.headers["authorization"] for r in openai_server.requests] == ["Bearer sk-server"]
    at = at.toggle(key="use_llm").set_value(False).run()
    at = ask(at, "How many vacation days after three years of service?")
    assert len(openai_server.requests) == 1  # off: extractive, no call
    assert "23 days" in "\n".join(md.value for md in at.chat_message[-1].markdown)


@pytest.mark.slow
@pytest.mark.integration
def test_a_typed_endpoint_gets_the_typed_key_or_none_never_the_servers(
    make_app: MakeApp, openai_server: FakeOpenAIServer
) -> None:
    at = ask(make_app(configured(openai_server, typed=True)))
    assert openai_server.requests[-1].headers["authorization"] == "Bearer sk-server"
    with FakeOpenAIServer("Eighteen days [1].") as elsewhere:
        at = at.text_input(key="llm_base_url").input(elsewhere.base_url).run()
        at = ask(at)
        at.text_input(key="llm_api_key").input("sk-user")
        at = ask(at.run())
        sent = [r.headers["authorization"] for r in elsewhere.requests]
    assert not at.exception
    assert sent[0] == "Bearer not-needed" and sent[-1] == "Bearer sk-user"
    assert not [s for s in sent if "sk-server" in s]
