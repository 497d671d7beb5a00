"""Title boost: among look-alike passages, the one from the file the question names wins."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag import RAG, RAGConfig, StoreConfig
from rag.cli import run
from rag.config import RetrievalConfig
from rag.encoders import TransformerEncoder
from rag.types import Chunk, Hit, SearchFilter
from retrievers.title_boost import CANDIDATES, TitleBoostedRetriever, TitleVectors, title_of

POLICY = (
    "# Travel policy\n\nEmployees book economy class for flights under six hours and may "
    "claim a daily meal allowance of 60 euros while travelling on company business.\n"
)


def chunk(source: str, score: float) -> Hit:
    return Hit(Chunk("d-" + source, source, "h", 0, f"text of {source}", (0, 1)), score)


class Fixed:
    """A retriever returning fixed hits, recording the k it was asked for."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.asked: list[int] = []

    def retrieve(self, query: str, k: int, search_filter: SearchFilter | None = None) -> list[Hit]:
        self.asked.append(k)
        return self.hits[:k]


class CountingEncoder:
    """Wraps the real encoder, counting the texts it embeds."""

    def __init__(self, encoder: TransformerEncoder) -> None:
        self.encoder = encoder
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        self.embedded.extend(texts)
        return self.encoder.embed(texts, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("/data/filings/3M_2018_10K.pdf", "3M 2018 10K"),
        ("C:\\docs\\acme-travel.policy.md", "acme travel policy"),
        ("notes.txt", "notes"),
        ("/x/.profile", "profile"),
        ("/x/README", "README"),
    ],
)
def test_title_is_the_file_name_without_extension(source: str, title: str) -> None:
    assert title_of(Chunk("d", source, "h", 0, "t", (0, 1))) == title


def test_boost_reorders_look_alikes_by_file_name(encoder: TransformerEncoder) -> None:
    hits = [chunk(f"/docs/{name}.md", 0.5) for name in ("globex_policy", "acme_policy")]
    hits += [chunk(f"/docs/other_{i}.md", 0.4) for i in range(60)]
    inner = Fixed(hits)
    counting = CountingEncoder(encoder)
    titles = TitleVectors(counting)  # type: ignore[arg-type]
    boosted = TitleBoostedRetriever(inner, titles, weight=2.0)

    top = boosted.retrieve("What does the Acme policy say?", 3)

    assert inner.asked == [CANDIDATES]
    assert len(top) == 3
    assert top[0].chunk.source == "/docs/acme_policy.md"
    assert top[0].score > 0.5
    assert [h.score for h in top] == sorted((h.score for h in top), reverse=True)
    assert len(set(counting.embedded) - {"What does the Acme policy say?"}) == CANDIDATES

    counting.embedded.clear()
    boosted.retrieve("What does the Globex policy say?", 3)
    assert counting.embedded == ["What does the Globex policy say?"]  # titles were kept


def test_boost_keeps_negative_scores_in_order_of_match(encoder: TransformerEncoder) -> None:
    hits = [chunk("/docs/globex_policy.md", -0.2), chunk("/docs/acme_policy.md", -0.2)]
    boosted = TitleBoostedRetriever(Fixed(hits), TitleVectors(encoder), weight=1.0)
    top = boosted.retrieve("the Acme policy", 2)
    assert [h.chunk.source for h in top] == ["/docs/acme_policy.md", "/docs/globex_policy.md"]


def test_title_vectors_drop_the_oldest_past_their_size(encoder: TransformerEncoder) -> None:
    counting = CountingEncoder(encoder)
    titles = TitleVectors(counting, size=2)  # type: ignore[arg-type]
    first = titles.get(["alpha", "beta"])
    titles.get(["gamma"])
    titles.get(["beta"])
    assert counting.embedded == ["alpha", "beta", "gamma"]
    again = titles.get(["alpha"])
    assert counting.embedded[-1] == "alpha"
    np.testing.assert_allclose(again[0], first[0], atol=1e-6)


@pytest.mark.slow
@pytest.mark.integration
def test_search_finds_the_named_companys_copy(
    tmp_path: Path,
    encoder: TransformerEncoder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    companies = ("initech", "globex", "acme", "umbrella")
    for company in companies:
        (docs / f"{company}_travel_policy.md").write_text(POLICY)
    store = StoreConfig(path=tmp_path / "store")
    question = "What meal allowance does the Umbrella travel policy give?"
    with RAG(RAGConfig(store=store), encoder=encoder) as rag:
        rag.ingest(sorted(docs.iterdir()))
        queries_embedded: list[str] = []
        embed = encoder.embed

        def spy(texts: Sequence[str], kind: str) -> np.ndarray:
            queries_embedded.extend(texts if kind == "query" else [])
            return embed(texts, kind)  # type: ignore[arg-type]

        monkeypatch.setattr(encoder, "embed", spy)
        hits = rag.search(question, 4)
        monkeypatch.undo()
    assert Path(hits[0].chunk.source).name == "umbrella_travel_policy.md"
    assert hits[0].score > hits[1].score
    assert queries_embedded == [question]  # the search and the boost share one query vector

    off = RAGConfig(store=store, retrieval=RetrievalConfig(title_weight=0.0))
    with RAG(off, encoder=encoder) as rag:
        plain = rag.search(question, 4)
    assert len({round(h.score, 5) for h in plain}) == 1  # identical text: dense cannot tell

    capsys.readouterr()
    assert run(["search", question, "--store", str(store.path), "-k", "1", "--json"]) == 0
    (printed,) = json.loads(capsys.readouterr().out)["hits"]
    assert Path(printed["source"]).name == "umbrella_travel_policy.md"
    assert run(["search", question, "--store", str(store.path), "--title-weight", "-1"]) == 1
    assert "--title-weight" in capsys.readouterr().err
