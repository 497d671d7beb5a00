"""A small OpenAI-compatible chat server on 127.0.0.1 for exercising the real ``openai`` client."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found",
    429: "rate_limit_exceeded",
}


class _QuietServer(ThreadingHTTPServer):
    """Ignores clients that hang up mid-answer (a timed-out client does, by design)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class RecordedRequest:
    """One request the server received; header names are lower-cased."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


class FakeOpenAIServer:
    """Serves ``POST /v1/chat/completions`` (JSON or SSE) with scripted replies and failures.

    ``reply`` is the answer text; ``fail_next(status, times)`` makes the next requests fail;
    ``delay`` sleeps before answering (to trip client timeouts); ``malformed`` sends a stream
    whose chunk is not JSON; ``finish_reason`` None leaves out the final chunk;
    ``drop_midstream`` hangs up after the first word. A 401 echoes the bearer token, as a
    careless server might. ``max_in_flight`` is the most requests handled at once;
    ``hold_until = n`` holds each request until ``n`` have been in flight at once (at most
    10 s), so a client that does not overlap its requests shows ``max_in_flight`` below ``n``.
    A streamed answer waits ``first_token_delay`` before its first word and ``word_delay``
    after each; ``streaming`` is set once a first word is sent, and with ``release`` set to an
    event the stream then waits for it (at most 30 s), so a test can act mid-answer.
    """

    def __init__(self, reply: str = "Paris is the capital of France [1].") -> None:
        self.reply = reply
        self.delay = 0.0
        self.malformed = False
        self.finish_reason: str | None = "stop"
        self.drop_midstream = False
        self.model = "fake-model"
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.hold_until = 0
        self.first_token_delay = 0.0
        self.word_delay = 0.0
        self.streaming = threading.Event()
        self.release: threading.Event | None = None
        self._failures: deque[int] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake OpenAI server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with HTTP ``status``."""
        with self._lock:
            self._failures.extend([status] * times)

    def start(self) -> FakeOpenAIServer:
        handler = type("_Handler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_failure(self) -> int | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _wait(self, seconds: float | None = None) -> None:
        deadline = time.monotonic() + (self.delay if seconds is None else seconds)
        while not self._stopping.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def do_POST(self) -> None:
        fake = self.fake
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            deadline = time.monotonic() + 10
            while fake.max_in_flight < fake.hold_until and time.monotonic() < deadline:
                time.sleep(0.01)
            self._answer_post()
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _answer_post(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        fake = self.fake
        with fake._lock:
            fake.requests.append(
                RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
        fake._wait()
        if self.path != CHAT_PATH:
            self._send_error(404, f"no route {self.path}")
            return
        status = fake._next_failure()
        if status == 401:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._send_error(status, f"Incorrect API key provided: {token}")
        elif status is not None:
            self._send_error(status, f"scripted failure {status}")
        elif body.get("stream"):
            self._send_stream(fake)
        else:
            self._send_json(200, _completion(fake.model, fake.reply))

    def _send_json(self, status: int, payload: dict[str, Any], **headers: str) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str) -> None:
        kind = _ERROR_TYPES.get(status, "server_error")
        payload = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        self._send_json(status, payload, retry_after_ms="10")

    def _send_stream(self, fake: FakeOpenAIServer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if fake.drop_midstream:
            self.send_header("Content-Length", "100000")  # promise more than is sent
        self.end_headers()
        if fake.malformed:
            self._event('{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "Hal')
        else:
            self._event(_chunk(fake.model, {"role": "assistant", "content": ""}))
            fake._wait(fake.first_token_delay)
            for number, piece in enumerate(re.findall(r"^\s+|\S+\s*", fake.reply)):
                self._event(_chunk(fake.model, {"content": piece}))
                if fake.drop_midstream:
                    return
                if number == 0:
                    fake.streaming.set()
                    if fake.release is not None:
                        fake.release.wait(30)
                fake._wait(fake.word_delay)
            if fake.finish_reason is not None:
                self._event(_chunk(fake.model, {}, finish_reason=fake.finish_reason))
        self._event("[DONE]")

    def _event(self, data: str | dict[str, Any]) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self.wfile.write(f"data: {text}\n\n".encode())
        self.wfile.flush()


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
