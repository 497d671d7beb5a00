"""Document context in every window: the title's tokens shape the chunks, never pooled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from vectorize import vectorize
from word_encoder import FakeEncoder, tokens_of_length

from ingestion.embedding import LateVectorizer, NaiveVectorizer, macro_windows, pool_spans
from ingestion.embedding.plan import MAX_CONTEXT_TOKENS, context_tokens
from rag import RAG, ChunkingConfig, ConfigError, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.titles import document_title
from rag.types import Tokens

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


class TitledEncoder(FakeEncoder):
    """A ``FakeEncoder`` whose words tokenize to ids 90-97, none of them a document token."""

    max_tokens = 10 + 2

    def tokenize(self, text: str) -> Tokens:
        words = list(re.finditer(r"\S+", text))
        return Tokens(
            ids=tuple(90 + len(m.group()) % 8 for m in words),
            offsets=tuple(m.span() for m in words),
        )


def _late(encoder: FakeEncoder, context: str, n: int = 30) -> tuple[object, np.ndarray]:
    chunks = [(0, 7), (7, 19), (19, n)]
    vectorizer = LateVectorizer(encoder, overlap=2, special_tokens="none")
    plan = vectorizer.plan("", tokens_of_length(n), chunks, context)
    vectorizer.run([(plan, i) for i in range(len(plan.sizes))])
    return plan, plan.vectors()


def test_context_states_shape_nothing_in_a_context_free_model_and_are_never_pooled() -> None:
    encoder = TitledEncoder(context=0.0)
    plan, vectors = _late(encoder, "Acme annual report")
    expected = pool_spans(
        encoder.table[list(tokens_of_length(30).ids)], [(0, 7), (7, 19), (19, 30)]
    )
    np.testing.assert_allclose(vectors, expected, rtol=1e-5)
    # every window carries the 3 context tokens out of its 10, and all 30 tokens are kept once
    assert all(size <= encoder.content_window for size in encoder.calls)
    assert len(encoder.calls) == len(macro_windows(30, 10 - 3, 2))
    assert plan.sizes == [c for c in encoder.calls]  # type: ignore[attr-defined]


def test_the_context_reaches_every_window_of_a_long_document() -> None:
    with_title = _late(TitledEncoder(context=1.0), "Acme annual report")[1]
    without = _late(TitledEncoder(context=1.0), "")[1]
    other = _late(TitledEncoder(context=1.0), "Globex quarterly filing, restated")[1]
    for row in range(3):  # the last chunk lies in a window far from the document's start
        assert not np.allclose(with_title[row], without[row])
        assert not np.allclose(with_title[row], other[row])


def test_a_long_title_is_cut_to_the_context_budget() -> None:
    encoder = TitledEncoder()
    title = " ".join(f"w{i}" for i in range(40))
    text, ids = context_tokens(encoder, title)
    assert len(ids) == MAX_CONTEXT_TOKENS
    assert text == " ".join(f"w{i}" for i in range(MAX_CONTEXT_TOKENS))
    assert context_tokens(encoder, "   ") == ("", ())


def test_a_context_that_leaves_no_room_past_the_overlap_is_refused() -> None:
    vectorizer = LateVectorizer(TitledEncoder(), overlap=6)
    with pytest.raises(ConfigError, match="no room"):
        vectorizer.plan("", tokens_of_length(30), [(0, 30)], "a b c d")


def test_a_chunk_embedded_alone_gets_the_title_as_its_first_line() -> None:
    class Recorder(TitledEncoder):
        dim = 2

        def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
            self.texts = list(texts)
            return np.ones((len(texts), 2)) / np.sqrt(2)

    encoder = Recorder()
    text = "alpha beta gamma delta"
    tokens = encoder.tokenize(text)
    spans, _ = vectorize(NaiveVectorizer(encoder), text, tokens, [(0, 10), (11, 22)])
    plan = NaiveVectorizer(encoder).plan(text, tokens, [(0, 10), (11, 22)], "Acme 10K")
    NaiveVectorizer(encoder).run([(plan, 0), (plan, 1)])
    assert encoder.texts == ["Acme 10K\nalpha beta", "Acme 10K\ngamma delta"]
    assert plan.sizes == [2 + 2, 2 + 2]


@pytest.mark.parametrize(
    ("source", "metadata", "title"),
    [
        ("/x/AMAZON_2017_10K.pdf", {"title": "0001018724-18-000005"}, "AMAZON 2017 10K"),
        ("/x/3M_2018_10K.pdf", {"title": "10-K - 02/07/2019 - 3M Company"}, "3M 2018 10K"),
        ("/x/scan0001.pdf", {"title": "Northwind Robotics handbook"}, None),
        ("/x/handbook.md", {}, "handbook"),
    ],
)
def test_the_title_is_the_file_name_and_a_loader_title_that_says_more(
    source: str, metadata: dict[str, str], title: str | None
) -> None:
    expected = title or "scan0001: Northwind Robotics handbook"
    assert document_title(source, metadata) == expected


@pytest.mark.slow
def test_a_collection_built_without_context_refuses_documents_built_with_it(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    store = StoreConfig(path=tmp_path)
    with RAG(RAGConfig(store=store), encoder=encoder) as rag:
        rag.ingest([EXAMPLES / "handbook.md"])
        assert "context" not in rag.stats()["settings"]  # older collections match "none"
    titled = RAGConfig(store=store, chunking=ChunkingConfig(context="title"))
    with RAG(titled, encoder=encoder) as rag:
        with pytest.raises(ConfigError, match="context='title'"):
            rag.ingest([EXAMPLES / "travel.md"])
        assert rag.ingest([EXAMPLES], reindex=True).count("failed") == 0
        assert rag.stats()["settings"]["context"] == "title"
        assert "14 characters" in rag.ask("How long must passwords be?").text
