"""The SDK's asyncio twins: same answers as the sync calls, LLM requests really overlap."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer

from rag import RAG, GenerationError, LLMConfig, RAGConfig
from rag.encoders import TransformerEncoder
from rag.sdk import AsyncAnswerStream
from rag.stores.server import ServerStore

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
VACATION = "How many vacation days do new employees get?"
HOTEL = "What is the hotel limit per night in Tokyo?"


def make_rag(encoder: TransformerEncoder, server: FakeOpenAIServer | None = None) -> RAG:
    llm = LLMConfig()
    if server is not None:
        llm = LLMConfig(base_url=server.base_url, model="fake-model", api_key="sk-SECRET")
    return RAG(RAGConfig(llm=llm), encoder=encoder, store=ServerStore(location=":memory:"))


def test_async_twins_give_the_sync_results(encoder: TransformerEncoder) -> None:
    async def main(rag: RAG) -> tuple[list[str], str, AsyncAnswerStream]:
        report = await rag.aingest([EXAMPLES])
        assert report.count("ingested") == 3
        hits = await rag.asearch("password rules", k=2)
        answer = await rag.aask(VACATION)
        stream = await rag.astream(HOTEL)
        deltas = [delta async for delta in stream]
        return [h.chunk.id for h in hits], answer.text, stream, deltas

    with make_rag(encoder) as rag:
        hit_ids, text, stream, deltas = asyncio.run(main(rag))
        assert hit_ids == [h.chunk.id for h in rag.search("password rules", k=2)]
        assert text == rag.ask(VACATION).text and "18 days" in text
        assert stream.answer == rag.ask(HOTEL)
        assert "".join(deltas) == stream.answer.text and "320 US dollars" in stream.answer.text


def test_two_aask_calls_are_in_flight_at_once(
    encoder: TransformerEncoder, openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply = "New employees get 18 days of vacation [1]."
    openai_server.hold_until = 2  # a client that waits for one answer first stalls here

    async def main(rag: RAG) -> list[str]:
        await rag.aingest([EXAMPLES])
        answers = await asyncio.gather(rag.aask(VACATION), rag.aask(HOTEL))
        return [a.text for a in answers]

    with make_rag(encoder, openai_server) as rag:
        texts = asyncio.run(main(rag))
    assert openai_server.max_in_flight == 2
    assert texts == [openai_server.reply] * 2
    asked = sorted(
        r.messages[-1]["content"].rsplit("Question: ", 1)[1] for r in openai_server.requests
    )
    assert asked == sorted([VACATION, HOTEL])


def test_astream_streams_llm_deltas_and_cites(
    encoder: TransformerEncoder, openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply = "Up to 320 US dollars per night [1]."

    async def main(rag: RAG) -> tuple[list[str], AsyncAnswerStream]:
        await rag.aingest([EXAMPLES])
        stream = await rag.astream(HOTEL, k=2)
        return [d async for d in stream], stream

    with make_rag(encoder, openai_server) as rag:
        deltas, stream = asyncio.run(main(rag))
    assert len(deltas) > 1 and "".join(deltas) == openai_server.reply
    assert stream.answer is not None and stream.answer.generator == "fake-model"
    assert stream.answer.citations[0].source.endswith("travel-policy.txt")


def test_async_llm_errors_match_the_sync_ones(
    encoder: TransformerEncoder, openai_server: FakeOpenAIServer
) -> None:
    with make_rag(encoder, openai_server) as rag:
        rag.ingest([EXAMPLES])
        openai_server.fail_next(401, times=10)
        with pytest.raises(GenerationError) as sync_error:
            rag.ask(VACATION)
        with pytest.raises(GenerationError) as async_error:
            asyncio.run(rag.aask(VACATION))
    assert str(async_error.value) == str(sync_error.value)
    assert async_error.value.status_code == 401 and "refused the API key" in str(async_error.value)
    assert "SECRET" not in str(async_error.value)


def test_a_rag_can_be_shared_by_threads(encoder: TransformerEncoder) -> None:
    questions = [VACATION, HOTEL, "How long must passwords be?"]
    with make_rag(encoder) as rag:
        rag.ingest([EXAMPLES])
        expected = [rag.ask(q).text for q in questions]
        with ThreadPoolExecutor(max_workers=3) as pool:
            got = list(pool.map(lambda q: rag.ask(q).text, questions))
    assert got == expected
