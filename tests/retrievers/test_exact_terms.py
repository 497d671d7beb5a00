"""Exact terms: a question naming a number finds the one fact that holds it, with the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from retrievers.exact_terms import exact_terms, match, terms

WAREHOUSES = 60


def fact(i: int) -> str:
    return f"Warehouse {i} in town {7 * i} stores {13 * i} crates of item model X{i}."


@pytest.fixture
def warehouses(tmp_path: Path) -> Path:
    """The 60 warehouse facts, ten to a Markdown file, one a paragraph."""
    folder = tmp_path / "warehouses"
    folder.mkdir()
    for start in range(0, WAREHOUSES, 10):
        facts = "\n\n".join(fact(i) for i in range(start, start + 10))
        (folder / f"warehouses-{start}.md").write_text(f"# Warehouses\n\n{facts}\n")
    return folder


def test_numbers_and_codes_stay_whole_and_count_by_place() -> None:
    assert terms("Invoice INV-40417 paid $1,234.5 in X7.") == [
        "invoice",
        "inv-40417",
        "paid",
        "1,234.5",
        "in",
        "x7",
    ]
    wanted = exact_terms("How many crates does warehouse 7 store?")
    assert wanted == [("warehouse", "7")]
    assert match(wanted, fact(7)) == 1.0
    assert match(wanted, fact(1)) == 0.5  # "in town 7"
    assert match(wanted, fact(57)) == 0.0
    assert exact_terms("How long must passwords be?") == []


@pytest.mark.slow
@pytest.mark.integration
def test_every_warehouse_question_finds_its_own_fact_first(
    tmp_path: Path, warehouses: Path, encoder: TransformerEncoder
) -> None:
    config = RAGConfig(store=StoreConfig(path=tmp_path / "store"))
    with RAG(config, encoder=encoder) as rag:
        assert rag.ingest([warehouses]).count("ingested") == 6
        wrong = {}
        for i in range(WAREHOUSES):
            top = rag.search(f"How many crates does warehouse {i} store?", 5)[0].chunk.text
            if fact(i) not in top:
                wrong[i] = top
    assert not wrong, f"{WAREHOUSES - len(wrong)} of {WAREHOUSES} first: {wrong}"
