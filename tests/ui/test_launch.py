"""``rag ui``: the streamlit command it runs and the settings it hands the app."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

import ui.launch
from rag.cli import run
from rag.config import LLMConfig, RAGConfig, StoreConfig
from rag.errors import ConfigError
from ui.launch import APP_SCRIPT, streamlit_command, streamlit_env
from ui.settings import ENV_SETTINGS, AppSettings, settings_from_env

SETTINGS = AppSettings(
    RAGConfig(
        store=StoreConfig(
            path=Path("/data/store"),
            url="http://127.0.0.1:6333",
            api_key=SecretStr("qk-secret"),
            collection="team",
        ),
        llm=LLMConfig(
            base_url="http://127.0.0.1:8080/v1",
            model="m",
            timeout=12.5,
            api_key=SecretStr("sk-secret"),
        ),
    ),
    max_upload_mb=7,
)


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_command_serves_on_loopback_without_telemetry() -> None:
    command = streamlit_command(8765, SETTINGS)
    assert command[1:5] == ["-m", "streamlit", "run", str(APP_SCRIPT)]
    assert flag(command, "--server.address") == "127.0.0.1"
    assert flag(command, "--server.port") == "8765"
    assert flag(command, "--server.headless") == "true"
    assert flag(command, "--browser.gatherUsageStats") == "false"
    assert flag(command, "--global.developmentMode") == "false"
    assert flag(command, "--server.maxUploadSize") == "7"
    assert "secret" not in " ".join(command)  # neither key on argv


def test_settings_reach_the_app_through_the_environment() -> None:
    env = streamlit_env(SETTINGS, {"PATH": "/bin"})
    assert env["PATH"] == "/bin" and env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert env["QDRANT_API_KEY"] == "qk-secret" and env["OPENAI_API_KEY"] == "sk-secret"
    assert "secret" not in env[ENV_SETTINGS]  # secrets travel only in their own variables
    back = settings_from_env(env)
    assert back == SETTINGS
    assert settings_from_env({}) == AppSettings()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("{", "not JSON"),
        ('{"max_upload_mb": 0}', "max_upload_mb"),
        ('{"max_upload_mb": "lots"}', "max_upload_mb"),
        ('{"config": {"llm": {"timeout": -1}}}', "llm.timeout"),
        ('{"config": {"top_k": "many"}}', "top_k"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_the_variable(value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=f"{ENV_SETTINGS}.*{words}"):
        settings_from_env({ENV_SETTINGS: value})


def test_rag_ui_passes_its_options_to_the_launcher(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[AppSettings, int]] = []
    monkeypatch.setattr(
        ui.launch, "run_app", lambda settings, port: calls.append((settings, port)) or 0
    )
    code = run(
        [
            "ui",
            "--store",
            str(tmp_path),
            "--collection",
            "c",
            "--port",
            "9123",
            "--max-upload-mb",
            "3",
            "--llm-base-url",
            "http://127.0.0.1:1/v1",
            "--llm-model",
            "x",
            "--llm-timeout",
            "7",
        ]
    )
    assert code == 0
    [(settings, port)] = calls
    assert port == 9123 and settings.max_upload_mb == 3
    assert settings.store.path == tmp_path and settings.store.collection == "c"
    assert settings.llm.model == "x" and settings.llm.timeout == 7


def test_the_upload_limit_comes_from_the_config_file_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[AppSettings] = []
    monkeypatch.setattr(ui.launch, "run_app", lambda settings, port: calls.append(settings) or 0)
    (tmp_path / "laterag.toml").write_text("[uploads]\nmax_mb = 4\n")
    assert run(["ui", "--config", str(tmp_path / "laterag.toml"), "--store", str(tmp_path)]) == 0
    assert [s.max_upload_mb for s in calls] == [4]


def test_rag_ui_exits_with_streamlits_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui.launch, "run_app", lambda settings, port: 3)
    assert run(["ui"]) == 3


def test_terminating_rag_ui_stops_streamlit(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(ui.launch, "streamlit_command", lambda port, settings: sleeper)
    default = signal.getsignal(signal.SIGTERM)

    def terminate_when_handled() -> None:
        deadline = time.monotonic() + 30
        while signal.getsignal(signal.SIGTERM) is default and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_handled, daemon=True).start()
    assert ui.launch.run_app(AppSettings(), 1) == -signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is default
