from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from rag.generation import NO_ANSWER_TEXT, NO_HITS_TEXT, ExtractiveGenerator
from rag.generation.quotable import quotable_sentences
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


def loose(embedder: KeywordEmbedder | None = None, **budget: int) -> ExtractiveGenerator:
    """A generator quoting any sentence however far from the question (no score threshold)."""
    return ExtractiveGenerator(embedder or KeywordEmbedder(), min_score=0.0, **budget)


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
    assert answer.text == f"{best} [1]"  # the other sentences share no word with the question
    assert answer.generator == "extractive"
    [first] = answer.citations
    assert (first.number, first.doc_id, first.page_span) == (1, "doc-1", (2, 2))
    assert first.quote == best
    assert answer.hits == tuple(HITS)


def test_every_sentence_is_followed_by_its_citation_numbered_in_order_of_use() -> None:
    answer = loose().generate("Who founded the company?", HITS)
    pieces = re.findall(r"(.+?) \[(\d)\](?: |$)", answer.text)
    assert len(pieces) == 3
    numbers = list(dict.fromkeys(int(n) for _, n in pieces))
    assert numbers == list(range(1, len(numbers) + 1))  # first use order, no gaps
    assert [c.number for c in answer.citations] == numbers
    by_number = {c.number: c for c in answer.citations}
    for sentence, number in pieces:
        assert sentence in by_number[int(number)].text
    for citation in answer.citations:
        assert citation.quote is not None
        for part in citation.quote.split(" … "):
            assert part in citation.text


def test_citations_follow_the_answer_not_the_ranking() -> None:
    hits = [
        make_hit(0, "Bikes are sold in Europe and in Asia."),
        make_hit(1, "Staff enjoyed the summer party."),
        make_hit(2, "Revenue from bikes reached 5 million dollars."),
    ]
    answer = loose(max_sentences=2).generate("revenue bikes", hits)
    first, second = (
        "Revenue from bikes reached 5 million dollars.",
        "Bikes are sold in Europe and in Asia.",
    )
    assert answer.text == f"{first} [1] {second} [2]"
    assert [(c.number, c.doc_id) for c in answer.citations] == [(1, "doc-2"), (2, "doc-0")]


def test_stream_yields_one_sentence_at_a_time() -> None:
    generator = loose()
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
    assert len(list(loose(max_sentences=1).stream("revenue", HITS))) == 1
    long_hit = make_hit(0, "Word " * 300 + "ends here.")
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
    assert answer.text == NO_ANSWER_TEXT and answer.citations == ()
    assert embedder.calls == []


def test_a_question_no_sentence_is_close_to_is_not_answered() -> None:
    answer = ExtractiveGenerator(KeywordEmbedder()).generate("Where is the volcano?", HITS)
    assert answer.text == NO_ANSWER_TEXT
    assert answer.citations == () and answer.hits == tuple(HITS)


HANDBOOK = """# Northwind Robotics Employee Handbook

## Time off

New employees receive 18 days of paid vacation per year. See the [policy](https://x.example/p)
![a chart](chart.png) for details.
Submit expense reports with itemised receipts for every expense over
25 US dollars.
"""


def test_headings_fragments_and_markdown_never_reach_the_answer() -> None:
    hit = make_hit(0, HANDBOOK)
    answer = loose(max_sentences=5).generate("Northwind Robotics handbook time off dollars", [hit])
    assert (
        "#" not in answer.text and "Handbook" not in answer.text and "Time off" not in answer.text
    )
    assert "25 US dollars. [1]" in answer.text
    assert "every expense over 25 US dollars." in answer.text  # one sentence across the line break
    assert "See the policy for details." in answer.text
    assert "](" not in answer.text and "chart" not in answer.text


def test_invalid_budget() -> None:
    with pytest.raises(ValueError, match="max_sentences"):
        ExtractiveGenerator(KeywordEmbedder(), max_sentences=0)


def test_quotable_sentences_follow_punkt_and_leave_out_headings_and_fragments() -> None:
    text = (
        "ending of a sentence the chunk cut. Dr. Smith went to Washington. He paid $3.5 million!"
        "\n\n7\nA Heading Line Of Words\nThe zebra launch is set for March\n"
        "Revenue 2021 5,363 4,869\n"
        "It rose a lot. An unfinished sentence at the"
    )
    assert quotable_sentences(text) == [
        "Dr. Smith went to Washington.",
        "He paid $3.5 million!",
        "The zebra launch is set for March",
        "Revenue 2021 5,363 4,869",
        "It rose a lot.",
    ]
