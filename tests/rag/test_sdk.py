"""The SDK facade: both store backends, streaming, model bookkeeping, long documents."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_model

from rag import RAG, ChunkingConfig, ConfigError, EmbedderConfig, RAGConfig, StoreConfig
from rag.encoders import TransformerEncoder
from rag.errors import InputError
from rag.generation import NO_ANSWER_TEXT
from rag.stores.server import ServerStore

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


def test_server_backend_answers_like_the_embedded_one(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    question = "How long must passwords be?"
    embedded = RAG(RAGConfig(store=StoreConfig(path=tmp_path)), encoder=encoder)
    server = RAG(encoder=encoder, store=ServerStore(location=":memory:"))
    answers = []
    for rag in (embedded, server):
        with rag:
            report = rag.ingest([EXAMPLES])
            assert report.count("ingested") == 3
            answers.append(rag.ask(question))
    assert answers[0].text == answers[1].text
    assert "14 characters" in answers[0].text
    assert [h.chunk.id for h in answers[0].hits] == [h.chunk.id for h in answers[1].hits]


def test_a_streamed_answer_is_the_answer(tmp_path: Path, encoder: TransformerEncoder) -> None:
    with RAG(RAGConfig(store=StoreConfig(path=tmp_path)), encoder=encoder) as rag:
        rag.ingest([EXAMPLES])
        question = "What is the hotel limit per night in Tokyo?"
        stream = rag.stream(question)
        text = "".join(stream)
        assert stream.answer is not None
        assert stream.answer == rag.ask(question)
        assert text == stream.answer.text and "320 US dollars" in text
        assert all(c.quote for c in stream.answer.citations)


def test_every_question_entry_point_refuses_text_that_is_not_unicode(
    encoder: TransformerEncoder,
) -> None:
    with RAG(encoder=encoder, store=ServerStore(location=":memory:")) as rag:
        for call in (rag.search, rag.ask, rag.stream):
            with pytest.raises(InputError, match="lone surrogate"):
                call("caf\ud800")
        with pytest.raises(InputError, match="not UTF-8"):
            asyncio.run(rag.aask("caf\udcff"))


def test_a_question_the_documents_do_not_answer_gets_no_fragments(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    with RAG(RAGConfig(store=StoreConfig(path=tmp_path)), encoder=encoder) as rag:
        rag.ingest([EXAMPLES])
        refused = rag.ask("How do I bake sourdough bread?")
        assert refused.text == NO_ANSWER_TEXT and refused.citations == () and refused.hits
        answered = rag.ask("What is the hotel limit per night in Tokyo?")
        assert "320 US dollars" in answered.text and answered.text.endswith("[1]")


def test_a_collection_remembers_its_model_and_refuses_another(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    tiny = build_tiny_model(tmp_path / "tiny", "bert8k")
    docs = tmp_path / "docs"
    shutil.copytree(EXAMPLES, docs)
    store = StoreConfig(path=tmp_path / "store")
    with RAG(RAGConfig(store=store, embedder=EmbedderConfig(model=str(tiny)))) as rag:
        assert rag.ingest([docs]).count("ingested") == 3
    with RAG(RAGConfig(store=store)) as rag:
        assert rag.encoder.name == str(tiny)
        assert rag.search("vacation", k=2)
    with (
        RAG(RAGConfig(store=store), encoder=encoder) as rag,
        pytest.raises(ConfigError, match="holds vectors of model"),
    ):
        rag.ingest([docs])


def test_changing_chunk_settings_rechunks_on_a_reindex(
    tmp_path: Path, encoder: TransformerEncoder
) -> None:
    store = StoreConfig(path=tmp_path)
    with RAG(RAGConfig(store=store), encoder=encoder) as rag:
        rag.ingest([EXAMPLES / "handbook.md"])
        before = rag.store.count()
    small = RAGConfig(store=store, chunking=ChunkingConfig(chunk_size=32))
    with RAG(small, encoder=encoder) as rag:
        with pytest.raises(ConfigError, match="chunk_size=64, not chunk_size=32"):
            rag.ingest([EXAMPLES / "handbook.md"])
        report = rag.ingest([EXAMPLES / "handbook.md"], reindex=True)
        assert report.count("updated") == 1
        (doc,) = rag.documents()
        assert doc.metadata["chunk_size"] == 32
        assert rag.store.count() == doc.chunks > before


def test_the_runtime_is_recorded_but_a_new_precision_re_embeds_nothing(tmp_path: Path) -> None:
    store = StoreConfig(path=tmp_path)
    fp32 = RAGConfig(store=store, embedder=EmbedderConfig(precision="fp32"))
    with RAG(fp32) as rag:
        rag.ingest([EXAMPLES / "handbook.md"])
        settings = rag.stats()["settings"]
    assert settings["runtime"] == {"device": "cpu", "precision": "fp32", "backend": "torch"}
    bf16 = RAGConfig(store=store, embedder=EmbedderConfig(precision="bf16"))
    with RAG(bf16) as rag:
        report = rag.ingest([EXAMPLES])
        assert report.count("unchanged") == 1 and report.count("ingested") == 2
        recorded = {d.source: d.metadata["runtime"]["precision"] for d in rag.documents()}
    assert sorted(recorded.values()) == ["bf16", "bf16", "fp32"]


def test_long_documents_go_through_macro_windows_without_losing_a_chunk(tmp_path: Path) -> None:
    tiny = build_tiny_model(tmp_path / "tiny", "bert8k")
    sentence = "The robot report shows revenue and cash flow for one new year. "
    (tmp_path / "long.txt").write_text(sentence * 150)  # about 2,100 tokens
    chunking = ChunkingConfig(chunker="sentences", chunk_size=40)
    vectors = {}
    for max_tokens in (8192, 130):
        config = RAGConfig(
            embedder=EmbedderConfig(model=str(tiny), max_tokens=max_tokens),
            chunking=chunking,
            store=StoreConfig(path=tmp_path / f"store{max_tokens}"),
        )
        with RAG(config) as rag:
            chunks = rag.chunks(tmp_path / "long.txt", vectors=True)
        assert chunks[-1].char_span[1] == len(sentence * 150) - 1
        vectors[max_tokens] = np.array([c.vector for c in chunks])
    one_pass, windowed = vectors[8192], vectors[130]
    assert one_pass.shape == windowed.shape and one_pass.shape[0] >= 40
    assert np.allclose(np.linalg.norm(windowed, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(one_pass, windowed)  # the windows change the context, not the chunks
