"""``POST /v1/chat/completions``: OpenAI's chat API answered from the collection, with citations.

The question is the last user message. With an LLM configured, a follow-up is first rewritten
with the earlier turns into a standalone question (``rag.generation.condense``, as the chat app
does), which is searched and answered; system and developer messages are instructions the LLM
follows within the fixed prompt's rules. The answer's text carries
``[n]`` markers; the citations they point to come in an extra top-level ``citations`` field of
the response, or of the final chunk when streaming. ``model`` is the generator that answered.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from rag.access import Principal
from rag.api.errors import error_body, status_of
from rag.api.schemas import ChatRequest
from rag.api.state import ApiState
from rag.errors import RagError
from rag.generation.condense import condense_question
from rag.sdk import AnswerStream
from rag.serialize import citation_json
from rag.types import Answer

log = logging.getLogger(__name__)


def _next(events: Iterator[str]) -> str | None:
    return next(events, None)


def _sse(data: dict[str, Any] | str) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n"


class Completion:
    """The id, creation time and model shared by one completion's response or chunks."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def response(self, answer: Answer) -> dict[str, Any]:
        """The non-streaming ``chat.completion`` body."""
        message = {"role": "assistant", "content": answer.text}
        return {
            **self._head("chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "citations": [citation_json(c) for c in answer.citations],
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """One ``chat.completion.chunk``."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def events(self, stream: AnswerStream) -> Generator[str, None, None]:
        """SSE events: the role, each text delta, a final chunk with citations, ``[DONE]``.

        No lock is held while the answer streams; a failure mid-stream becomes an ``error``
        event (which the openai client raises as ``APIError``).
        """
        yield _sse(self.chunk({"role": "assistant", "content": ""}))
        try:
            for delta in stream:
                if delta:
                    yield _sse(self.chunk({"content": delta}))
        except RagError as e:
            log.warning("chat completion %s failed mid-stream: %s", self.id, e)
            yield _sse(error_body(str(e), status_of(e)))
            return
        if stream.answer is None:
            yield _sse(error_body("the answer stream ended without an answer", 500))
            return
        final = self.chunk({}, "stop")
        final["citations"] = [citation_json(c) for c in stream.answer.citations]
        yield _sse(final)
        yield _sse("[DONE]")


async def in_thread(events: Generator[str, None, None]) -> AsyncIterator[str]:
    """Iterate a blocking generator in worker threads; close it when the client goes away."""
    try:
        while True:
            item = await anyio.to_thread.run_sync(_next, events)
            if item is None:
                break
            yield item
    finally:
        events.close()  # runs the generator's cleanup, closing the LLM's stream


def chat_router(state: ApiState, caller: Any) -> APIRouter:
    """The chat-completions route, answering from what ``caller``'s principal may read."""
    router = APIRouter()
    rag = state.rag

    @router.post("/v1/chat/completions", response_model=None)
    def chat_completions(
        request: ChatRequest, who: Principal = caller
    ) -> dict[str, Any] | StreamingResponse:
        question = request.question()
        if not question:
            raise HTTPException(400, "the request has no user message with text to answer")
        k, search_filter, instructions = request.k, request.search_filter(), request.instructions()
        state.require_collection()
        if rag.config.llm.enabled:  # no lock is held while the LLM rewrites
            question = condense_question(request.history(), question, rag.chat_model)
        if not request.stream:
            answer = rag.ask(question, k, search_filter, principal=who, instructions=instructions)
            return Completion(answer.generator).response(answer)
        # retrieval errors become HTTP errors before the stream starts
        stream = rag.stream(question, k, search_filter, principal=who, instructions=instructions)
        events = Completion(rag.generator.name).events(stream)
        return StreamingResponse(
            in_thread(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
