"""Build and run the ``streamlit run`` command behind ``rag ui``: loopback only, no telemetry."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ui.settings import AppSettings, settings_env

logger = logging.getLogger(__name__)

APP_SCRIPT = Path(__file__).resolve().parent / "app.py"
"""The script Streamlit runs."""

HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_command(port: int, settings: AppSettings) -> list[str]:
    """Return the argv that serves the chat app on ``127.0.0.1:port`` with no outbound calls."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        HOST,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.maxUploadSize",
        str(settings.max_upload_mb),
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def streamlit_env(settings: AppSettings, base: Mapping[str, str]) -> dict[str, str]:
    """Return ``base`` plus the app's settings (secrets in their own variables), no telemetry."""
    return {
        **base,
        **settings_env(settings),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "STREAMLIT_SERVER_HEADLESS": "true",
    }


def run_app(settings: AppSettings, port: int = DEFAULT_PORT) -> int:
    """Serve the chat app until interrupted or terminated; returns Streamlit's exit code."""
    command = streamlit_command(port, settings)
    logger.info("serving the chat app at http://%s:%d", HOST, port)
    process = subprocess.Popen(command, env=streamlit_env(settings, os.environ))
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            process.kill()
            process.wait()
