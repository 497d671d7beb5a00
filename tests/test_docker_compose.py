"""The compose file is for users (no Docker engine here): check what a user relies on."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_qdrant_service_is_pinned_persistent_and_health_checked() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    qdrant = spec["services"]["qdrant"]
    image, _, tag = qdrant["image"].partition(":")
    assert image == "qdrant/qdrant" and tag and tag != "latest"
    assert "6333:6333" in qdrant["ports"]
    volume = qdrant["volumes"][0].split(":")[0]
    assert volume in spec["volumes"]
    assert qdrant["healthcheck"]["test"]
