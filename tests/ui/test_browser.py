"""The chat app in a real browser: Debian's Chromium driven by playwright, app on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from needs import unavailable

from rag.config import RAGConfig, StoreConfig
from ui.launch import streamlit_command, streamlit_env
from ui.settings import AppSettings

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
QUESTION = "How many vacation days do new employees get?"
STARTUP_SECONDS = 120


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; missing, it fails the run in CI and skips elsewhere."""
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} not found: apt-get install -y chromium")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture
def app_url(store: Path, tmp_path: Path) -> Iterator[str]:
    """The app served by ``streamlit run`` on a free loopback port over the sample store."""
    port = free_port()
    settings = AppSettings(RAGConfig(store=StoreConfig(path=store)))
    env = streamlit_env(settings, os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("OPENAI_API_KEY", None)
    log = tmp_path / "streamlit.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            streamlit_command(port, settings), env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def test_ask_stream_open_citation_and_upload_in_chromium(
    chromium: Path, app_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    notes = tmp_path / "cafeteria.md"
    notes.write_text("# Cafeteria\n\nThe cafeteria serves ramen every Friday.\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(app_url)
            box = page.get_by_placeholder("Ask about your documents")
            expect(box).to_be_enabled(timeout=STARTUP_SECONDS * 1000)
            box.fill(QUESTION)
            box.press("Enter")

            citation = page.get_by_test_id("stExpander").filter(has_text="[1] handbook.md")
            expect(citation).to_be_visible(timeout=60_000)  # shown once the stream is done
            answer = page.get_by_test_id("stChatMessage").filter(has_text="18 days of paid")
            expect(answer).to_have_count(1)
            citation.locator("summary").click()
            mark = citation.locator("mark.cited")
            expect(mark).to_be_visible()
            assert "18 days of paid vacation" in mark.inner_text()
            expect(citation.get_by_text("Download handbook.md")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "ui-chat-citation.png"))

            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(notes))
            ingest = page.get_by_role("button", name="Ingest 1 file(s)")
            ingest.click()
            sidebar = page.get_by_test_id("stSidebar")
            # While Streamlit reruns, the old and the new result line can both be on the page.
            result = sidebar.get_by_text("cafeteria.md: ingested").first
            expect(result).to_be_visible(timeout=60_000)
            expect(sidebar.get_by_text("Documents (4)")).to_be_visible()
            expect(ingest).to_have_count(0)  # the rerun after the ingest has finished
            page.screenshot(path=str(ARTIFACTS / "ui-upload.png"))
            outside = [u for u in requested if not u.startswith((app_url, "data:", "blob:"))]
            assert not outside, f"the page reached beyond the app: {outside}"
        finally:
            browser.close()
