from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from rag.generation import NO_HITS_TEXT, ExtractiveGenerator, sentence_spans
from rag.protocols import Generator, TextKind
from rag.types import Chunk, Hit

STOPWORDS = {"a", "in", "is", "it", "of", "the", "was", "what", "who"}


class KeywordEmbedder:
    """Bag of lower-cased content words hashed into 256 dims, L2-normalised; records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[TextKind, list[str]]] = []

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        self.calls.append((kind, list(texts)))
        rows = np.zeros((len(texts), 256))
        for i, text in enumerate(texts):
            for word in set(re.findall(r"\w+", text.lower())) - STOPWORDS:
                rows[i, zlib.crc32(word.encode()) % 256] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)


def make_hit(i: int, text: str) -> Hit:
    chunk = Chunk(
        doc_id=f"doc-{i}",
        source=f"/data/report{i}.pdf",
        content_hash="h",
        index=i,
        text=text,
        char_span=(0, len(text)),
        page_span=(i + 1, i + 1),
    )
    return Hit(chunk=chunk, score=1.0 - i / 10)


HITS = [
    make_hit(0, "The company was founded in 1990. It makes bicycles.\n12\nBikes sell in Europe."),
    make_hit(1, "Annual revenue in 2021 reached 5 million dollars. Costs were flat."),
    make_hit(2, "Staff enjoyed the summer party. Dr. Smith gave a talk."),
]


def test_is_a_generator() -> None:
    generator = ExtractiveGenerator(KeywordEmbedder())
    assert isinstance(generator, Generator)
    assert generator.name == "extractive"


def test_picks_and_cites_the_matching_sentence() -> None:
    answer = ExtractiveGenerator(KeywordEmbedder()).generate("What was the revenue in 2021?", HITS)
    best = "Annual revenue in 2021 reached 5 million dollars."
    assert answer.text.startswith(f"{best} [2]")
    assert answer.generator == "extractive"
    first = answer.citations[0]
    assert (first.number, first.doc_id, first.page_span) == (2, "doc-1", (2, 2))
    assert first.quote == best
    assert answer.hits == tuple(HITS)


def test_every_sentence_is_followed_by_its_citation() -> None:
    answer = ExtractiveGenerator(KeywordEmbedder()).generate("Who founded the company?", HITS)
    pieces = re.findall(r"(.+?) \[(\d)\](?: |$)", answer.text)
    assert len(pieces) == 3
    for sentence, number in pieces:
        assert sentence in HITS[int(number) - 1].chunk.text
    numbers = [c.number for c in answer.citations]
    assert numbers == list(dict.fromkeys(int(n) for _, n in pieces))
    for citation in answer.citations:
        assert citation.quote is not None
        for part in citation.quote.split(" … "):
            assert part in citation.text


def test_stream_yields_one_sentence_at_a_time() -> None:
    generator = ExtractiveGenerator(KeywordEmbedder())
    deltas = list(generator.stream("What was the revenue in 2021?", HITS))
    assert len(deltas) == 3
    assert all(re.search(r"\[\d\]$", d) for d in deltas)
    assert "".join(deltas) == generator.generate("What was the revenue in 2021?", HITS).text


def test_embeds_query_and_documents_in_one_batch_each() -> None:
    embedder = KeywordEmbedder()
    ExtractiveGenerator(embedder).generate("revenue?", HITS)
    assert [kind for kind, _ in embedder.calls] == ["query", "document"]
    assert embedder.calls[0][1] == ["revenue?"]
    assert "12" not in embedder.calls[1][1]


def test_budget_of_sentences_and_characters() -> None:
    generator = ExtractiveGenerator(KeywordEmbedder(), max_sentences=1)
    assert len(list(generator.stream("revenue", HITS))) == 1
    long_hit = make_hit(0, "word " * 300)
    answer = ExtractiveGenerator(KeywordEmbedder(), max_chars=50).generate("word", [long_hit])
    assert answer.citations[0].quote is not None
    assert len(answer.citations[0].quote) <= 50
    assert answer.text == f"{answer.citations[0].quote} [1]"


def test_no_hits_and_no_sentences() -> None:
    embedder = KeywordEmbedder()
    generator = ExtractiveGenerator(embedder)
    assert generator.generate("q", []).text == NO_HITS_TEXT
    assert list(generator.stream("q", [])) == [NO_HITS_TEXT]
    answer = generator.generate("q", [make_hit(0, "12\n- a\n")])
    assert answer.text == NO_HITS_TEXT and answer.citations == ()
    assert embedder.calls == []


def test_invalid_budget() -> None:
    with pytest.raises(ValueError, match="max_sentences"):
        ExtractiveGenerator(KeywordEmbedder(), max_sentences=0)


def test_sentence_spans_follow_punkt_and_lines() -> None:
    text = "  Dr. Smith went to Washington. He paid $3.5 million!\n\n7\nA heading line\nLast one? "
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == [
        "Dr. Smith went to Washington.",
        "He paid $3.5 million!",
        "A heading line",
        "Last one?",
    ]
