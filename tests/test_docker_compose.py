"""The compose file is for users (no Docker engine here): check what a user relies on."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from ui.launch import streamlit_command
from ui.settings import AppSettings, settings_from_env

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
NODES = ("qdrant-0", "qdrant-1", "qdrant-2")
APPS = ("api", "ui")
RAY = ("ray-head", "ray-worker")
EXACT_TAG = re.compile(r"^v?\d+\.\d+\.\d+$")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return spec["services"]


def test_every_image_is_pinned_to_an_exact_version(spec: dict[str, Any]) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services(spec).items():
        image, _, tag = service["image"].partition(":")
        assert EXACT_TAG.match(tag), f"{name}: {service['image']} is not pinned to x.y.z"
        if "build" in service:
            assert image == "laterag" and tag == version, name
    dockerfile = (REPO / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert re.match(r"python:3\.11\.\d+-slim-\w+$", base)
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile


def test_three_qdrant_nodes_form_one_cluster(spec: dict[str, Any]) -> None:
    nodes = {n: services(spec)[n] for n in NODES}
    images = {node["image"] for node in nodes.values()}
    (image,) = images
    assert image.startswith("qdrant/qdrant:v1.")
    minor = int(image.split(".")[1])
    assert minor >= 17, "hybrid search sends weighted RRF, which Qdrant has since v1.17"
    for name, node in nodes.items():
        env = node["environment"]
        assert env["QDRANT__CLUSTER__ENABLED"] == "true"
        assert env["QDRANT__CLUSTER__P2P__PORT"] == "6335"
        command = node["command"]
        assert command[0] == "./qdrant"
        assert command[command.index("--uri") + 1] == f"http://{name}:6335"
    first = nodes["qdrant-0"]["command"]
    assert "--bootstrap" not in first  # the first peer starts the cluster
    for name in NODES[1:]:
        command = nodes[name]["command"]
        assert command[command.index("--bootstrap") + 1] == "http://qdrant-0:6335"
        assert nodes[name]["depends_on"]["qdrant-0"]["condition"] == "service_healthy"


def test_only_loopback_ports_are_published_and_p2p_stays_inside(spec: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in services(spec).items()}
    assert published["qdrant-0"] == ["127.0.0.1:6333:6333", "127.0.0.1:6334:6334"]
    assert published["api"] == ["127.0.0.1:8000:8000"]
    assert published["ui"] == ["127.0.0.1:8501:8501"]
    for name, ports in published.items():
        assert all(p.startswith("127.0.0.1:") for p in ports), name
        assert not any(p.endswith(":6335") for p in ports), name


def test_every_long_running_service_has_a_health_check(spec: dict[str, Any]) -> None:
    for name, service in services(spec).items():
        if service.get("restart") == "no":
            continue  # one-shot jobs
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and len(check["test"]) > 1, name
        assert check["retries"] >= 3 and check["interval"] and check["timeout"], name


def test_every_node_and_the_app_data_keep_a_named_volume(spec: dict[str, Any]) -> None:
    declared = spec["volumes"]
    mounts = {}
    for name, service in services(spec).items():
        for volume in service.get("volumes", []):
            if name in RAY and volume.endswith(":/docs:ro"):  # the user's documents
                continue
            source, target = volume.split(":")[:2]
            assert source in declared, f"{name}: {source} is not a named volume"
            mounts.setdefault(source, set()).add(name)
            if name in NODES:
                assert target == "/qdrant/storage"
    node_volumes = [v for v, users in mounts.items() if users & set(NODES)]
    assert len(node_volumes) == 3 and all(len(mounts[v]) == 1 for v in node_volumes)
    assert mounts["laterag-data"] == set(APPS)


def test_both_apps_keep_their_store_and_uploads_on_the_data_volume(spec: dict[str, Any]) -> None:
    for name in APPS:  # the image's user cannot write /app; uploads go to STORE/uploads/...
        app = services(spec)[name]
        assert app["environment"]["LATERAG_STORE"] == "/data"
        assert "laterag-data:/data" in app["volumes"]


def test_apps_wait_for_a_healthy_cluster_and_use_it_sharded_and_replicated(
    spec: dict[str, Any],
) -> None:
    for name in APPS:
        app = services(spec)[name]
        assert app["build"] == "."
        for node in NODES:
            assert app["depends_on"][node]["condition"] == "service_healthy", name
        env = app["environment"]
        assert env["LATERAG_QDRANT_URL"] == "http://qdrant-0:6333"
        assert int(env["LATERAG_SHARDS"]) >= len(NODES)
        assert 2 <= int(env["LATERAG_REPLICATION"]) <= len(NODES)
        assert int(env["LATERAG_WRITE_CONSISTENCY"]) <= int(env["LATERAG_REPLICATION"])
    # collections made without explicit settings (the chat app's) are replicated too
    for node in NODES:
        replication = services(spec)[node]["environment"]
        assert replication["QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR"] == "2"
    ui_env = services(spec)["ui"]["environment"]
    assert ui_env["LATERAG_QDRANT_URL"] == "http://qdrant-0:6333"
    given = {k: str(v) for k, v in ui_env.items() if not str(v).startswith("${")}  # unset
    config = settings_from_env(given).config
    assert config.store.url == "http://qdrant-0:6333" and config.store.path == Path("/data")


def test_the_environment_names_are_ones_laterag_reads(spec: dict[str, Any]) -> None:
    from rag.config_file import ENV_VARS
    from ui import settings

    known = set(ENV_VARS) | {"LATERAG_API_TOKEN", "HF_HOME"}
    known.add(settings.ENV_SETTINGS)
    known |= {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_USAGE_STATS_ENABLED"}  # Ray's own
    for name in APPS + RAY:
        unknown = set(services(spec)[name]["environment"]) - known
        assert not unknown, f"{name}: {unknown}"


def test_the_api_and_ui_commands_serve_on_every_interface(spec: dict[str, Any]) -> None:
    api = services(spec)["api"]["command"]
    assert api[:2] == ["rag", "serve"] and api[api.index("--host") + 1] == "0.0.0.0"
    ui = services(spec)["ui"]["command"]
    assert ui[:5] == ["python", "-m", "streamlit", "run", "/app/ui/app.py"]
    # the same flags `rag ui` gives Streamlit, but listening beyond loopback
    local = streamlit_command(8501, AppSettings())[5:]
    local[local.index("--server.address") + 1] = "0.0.0.0"
    assert ui[5:] == local


def test_the_llm_is_optional_behind_a_profile(spec: dict[str, Any]) -> None:
    llm, pull = services(spec)["llm"], services(spec)["llm-model"]
    assert llm["profiles"] == ["llm"] and pull["profiles"] == ["llm"]
    assert "ports" not in llm  # reached only by the apps, as http://llm:11434/v1
    assert pull["environment"]["OLLAMA_HOST"] == "http://llm:11434"
    assert pull["depends_on"]["llm"]["condition"] == "service_healthy"
    for name in APPS:
        app = services(spec)[name]
        wait = app["depends_on"]["llm-model"]
        assert wait == {"condition": "service_completed_successfully", "required": False}
        # off unless the user names the endpoint and model
        assert app["environment"]["LATERAG_LLM_BASE_URL"] == "${LATERAG_LLM_BASE_URL:-}"
        assert app["environment"]["LATERAG_LLM_MODEL"] == "${LATERAG_LLM_MODEL:-}"


def test_the_ray_profile_runs_a_head_and_workers_that_share_a_token_and_the_documents(
    spec: dict[str, Any],
) -> None:
    head, worker = (services(spec)[name] for name in RAY)
    for node in (head, worker):
        assert node["profiles"] == ["ray"] and node["build"] == "."
        assert "ports" not in node  # Ray's ports stay inside the network
        env = node["environment"]
        assert env["RAY_AUTH_MODE"] == "token"
        assert env["RAY_AUTH_TOKEN"] == "${RAY_AUTH_TOKEN:-}"
        assert env["LATERAG_QDRANT_URL"] == "http://qdrant-0:6333"  # the driver writes there
        assert node["volumes"] == ["${LATERAG_DOCS:-./docs}:/docs:ro"]  # same path everywhere
        assert node["healthcheck"]["test"][1:3] == ["ray", "health-check"]
    assert head["command"][:3] == ["ray", "start", "--head"]
    assert "--port=6379" in head["command"] and "--block" in head["command"]
    assert head["depends_on"]["qdrant-0"]["condition"] == "service_healthy"
    assert worker["command"][:3] == ["ray", "start", "--address=ray-head:6379"]
    assert "--block" in worker["command"] and worker["deploy"]["replicas"] >= 2
    assert worker["depends_on"]["ray-head"]["condition"] == "service_healthy"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'pip install ".[ray]"' in dockerfile
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("ray") for r in extras["optional-dependencies"]["ray"])
    assert "laterag[ray]" in extras["optional-dependencies"]["test"]


class _Qdrant(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ready = self.path == "/readyz" and self.server.ready  # type: ignore[attr-defined]
        self.send_response(200 if ready else 503)
        self.end_headers()
        self.wfile.write(b"all shards are ready" if ready else b"not ready")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_node() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Qdrant)
    server.ready = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_qdrant_health_check_asks_readyz_with_bash_alone(
    spec: dict[str, Any], fake_node: HTTPServer
) -> None:
    """The image has bash but no curl: run the check's script against a fake node's /readyz."""
    test = services(spec)["qdrant-0"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    script = test[3].replace("$$", "$")  # compose's escape for a literal $
    assert "/dev/tcp/127.0.0.1/6333" in script

    def check(port: int) -> int:
        here = script.replace("/dev/tcp/127.0.0.1/6333", f"/dev/tcp/127.0.0.1/{port}")
        return subprocess.run(["bash", "-c", here], capture_output=True, timeout=10).returncode

    port = fake_node.server_address[1]
    assert check(port) == 0
    fake_node.ready = False  # type: ignore[attr-defined]
    assert check(port) != 0
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = free.getsockname()[1]
    assert check(closed) != 0  # nothing listening
