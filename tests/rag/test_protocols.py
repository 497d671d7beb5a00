"""Every role protocol lives in ``rag/protocols.py``, none elsewhere in the packages."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("rag", "ingestion", "retrievers", "ui")


def _protocol_classes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)
    ]


def test_protocols_are_declared_only_in_rag_protocols() -> None:
    home = REPO / "rag" / "protocols.py"
    elsewhere = {
        str(path.relative_to(REPO)): names
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if path != home and (names := _protocol_classes(path))
    }
    assert elsewhere == {}
    assert {"Runner", "MigrationTarget", "Upload"} <= set(_protocol_classes(home))
