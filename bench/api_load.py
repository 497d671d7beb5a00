"""Load on ``rag serve``: concurrent clients mixing ``/search`` and streaming chat, loopback only.

Usage: python bench/api_load.py [--clients 1 4 16] [--seconds 10] [--max-requests 2000]

Serves examples/docs (embedded store in a temporary folder, the bundled model) with uvicorn on
127.0.0.1, answering chat from the test suite's fake OpenAI server made slow: first token
after ``--first-token`` s, then ``--tokens-per-second``. First an idle row (one client, search
only), then for each client count the clients run for ``--seconds`` (and at most
``--max-requests`` in all), each alternating a search and a streamed chat. Prints, per route:
requests, requests/s, p50/p95/p99 latency (a chat's is its whole stream) and failed requests
(an HTTP error, a stream without ``[DONE]``, or a timeout).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fake_openai import FakeOpenAIServer  # noqa: E402  (the fake LLM the tests use)

from rag.api import create_app  # noqa: E402
from rag.config import LLMConfig, RAGConfig, StoreConfig  # noqa: E402
from rag.sdk import RAG  # noqa: E402

QUESTIONS = (
    "How many vacation days do new employees get?",
    "What are the password rules?",
    "Who approves expenses over the limit?",
    "How long is parental leave?",
)
TIMEOUT = 60.0


@dataclass
class Tally:
    """Latencies and failures per route of one load level."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, took: float, ok: bool) -> None:
        with self.lock:
            self.seconds[route].append(took)
            if not ok:
                self.failed[route] += 1


def search(http: httpx.Client, question: str) -> bool:
    response = http.post("/search", json={"query": question, "k": 5})
    return response.status_code == 200 and bool(response.json()["hits"])


def chat(http: httpx.Client, question: str) -> bool:
    body = {"messages": [{"role": "user", "content": question}], "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        lines = [line for line in response.iter_lines() if line]
    return response.status_code == 200 and lines[-1:] == ["data: [DONE]"]


def run_level(
    url: str, clients: int, seconds: float, budget: int, routes: tuple[str, ...]
) -> Tally:
    """Run ``clients`` threads for ``seconds`` (``budget`` requests in all) over ``routes``."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    left = [budget]
    guard = threading.Lock()

    def client(number: int) -> None:
        turn = number  # clients start on different routes
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            while time.monotonic() < deadline:
                with guard:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                route = routes[turn % len(routes)]
                question = QUESTIONS[turn % len(QUESTIONS)]
                turn += 1
                started = time.perf_counter()
                try:
                    ok = (search if route == "/search" else chat)(http, question)
                except httpx.HTTPError:
                    ok = False
                tally.add(route, time.perf_counter() - started, ok)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds["_wall"] = [time.perf_counter() - started]
    return tally


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def rows(label: str, tally: Tally) -> list[str]:
    wall = tally.seconds["_wall"][0]
    out = []
    for route in ("/search", "chat (stream)"):
        took = tally.seconds.get(route)
        if not took:
            continue
        ms = [t * 1000 for t in took]
        out.append(
            f"| {label} | {route} | {len(took)} | {len(took) / wall:.1f} | "
            f"{statistics.median(ms):.0f} | {percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | "
            f"{tally.failed.get(route, 0)} |"
        )
    return out


def serve(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=10.0, help="per load level")
    parser.add_argument("--max-requests", type=int, default=2000, help="per load level")
    parser.add_argument("--first-token", type=float, default=1.0)
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    parser.add_argument("--answer-tokens", type=int, default=20)
    args = parser.parse_args()

    words = ["days"] * (args.answer_tokens - 1) + ["[1]."]  # the fake streams a word a token
    fake = FakeOpenAIServer(" ".join(words))
    fake.first_token_delay = args.first_token
    fake.word_delay = 1 / args.tokens_per_second
    with fake, tempfile.TemporaryDirectory() as folder:
        llm = LLMConfig(base_url=fake.base_url, model="slow-fake")
        config = RAGConfig(store=StoreConfig(path=Path(folder) / "store"), llm=llm)
        with RAG(config) as rag:
            rag.ingest([REPO / "examples" / "docs"])
            server, thread, url = serve(create_app(rag, upload_dir=Path(folder) / "uploads"))
            try:
                run_level(url, 1, 2.0, 50, ("/search",))  # warm-up
                print(f"# {platform.node()} {os.cpu_count()} CPUs, {date.today()}", file=sys.stderr)
                print("| clients | route | requests | req/s | p50 ms | p95 ms | p99 ms | failed |")
                print("|---|---|---|---|---|---|---|---|")
                idle = run_level(url, 1, args.seconds, args.max_requests, ("/search",))
                for line in rows("1, search only (idle)", idle):
                    print(line, flush=True)
                for clients in args.clients:
                    tally = run_level(
                        url, clients, args.seconds, args.max_requests, ("/search", "chat (stream)")
                    )
                    for line in rows(str(clients), tally):
                        print(line, flush=True)
            finally:
                server.should_exit = True
                thread.join(timeout=10)
        print(f"load average after: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
