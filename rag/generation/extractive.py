"""Answers without a language model: the retrieved sentences closest to the question, cited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.generation.citations import NO_ANSWER_TEXT, citation_for, no_hits_answer
from rag.generation.quotable import quotable_sentences
from rag.protocols import Embedder
from rag.types import Answer, Citation, Hit

MIN_SCORE = 0.45
"""Least cosine between question and sentence for the sentence to be quoted as an answer.

Measured by ``bench/answerable.py`` (the README's Extractive answers section): when no
sentence reaches it, the answer is ``NO_ANSWER_TEXT`` instead of the closest fragments.
"""


@dataclass(frozen=True)
class Candidate:
    """A quotable sentence of the ``hit``-th passage (from 1) and its similarity to the question."""

    hit: int
    sentence: str
    score: float


class ExtractiveGenerator:
    """Answers with the top hits' sentences most similar to the question, best first.

    Only whole prose sentences are quoted (see ``quotable_sentences``), as plain text; citations
    are numbered in order of first use. When no sentence scores ``min_score`` the answer is
    ``NO_ANSWER_TEXT``.
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_sentences: int = 3,
        max_chars: int = 600,
        max_hits: int = 5,
        min_score: float = MIN_SCORE,
    ) -> None:
        if max_sentences < 1 or max_chars < 1 or max_hits < 1:
            raise ValueError("max_sentences, max_chars and max_hits must each be at least 1")
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.max_hits = max_hits
        self.min_score = min_score

    def candidates(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """Every quotable sentence of the top hits with its score, best first."""
        found: list[tuple[int, str]] = []
        scored: list[str] = []  # what is compared with the question: a row under its header
        seen: set[str] = set()
        for number, hit in enumerate(hits[: self.max_hits], start=1):
            for sentence in quotable_sentences(hit.chunk.text):
                if sentence not in seen:
                    seen.add(sentence)
                    found.append((number, sentence))
                    context = hit.chunk.context
                    scored.append(f"{context}\n{sentence}" if context else sentence)
        if not found:
            return []
        query = self.embedder.embed([question], "query")[0]
        vectors = self.embedder.embed(scored, "document")
        scores = np.asarray(vectors, dtype=np.float64) @ np.asarray(query, dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        return [Candidate(found[i][0], found[i][1], float(scores[i])) for i in order]

    def _pick(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """Return the chosen sentences, best first, within the sentence and character budget."""
        picks: list[Candidate] = []
        used = 0
        for candidate in self.candidates(question, hits):
            if candidate.score < self.min_score:
                break
            if not picks:
                candidate = Candidate(
                    candidate.hit, _shorten(candidate.sentence, self.max_chars), candidate.score
                )
            elif used + len(candidate.sentence) > self.max_chars:
                continue
            picks.append(candidate)
            used += len(candidate.sentence)
            if len(picks) == self.max_sentences:
                break
        return picks

    def stream(
        self, question: str, hits: Sequence[Hit], *, instructions: str = ""
    ) -> Generator[str, None, Answer]:
        """Yield the answer one cited sentence at a time, then return the whole answer.

        Quoted sentences cannot follow ``instructions``: they are ignored.
        """
        pieces, answer = self._answer(question, hits)
        yield from pieces
        return answer

    async def astream(
        self, question: str, hits: Sequence[Hit], *, instructions: str = ""
    ) -> AsyncGenerator[str | Answer, None]:
        """Like ``stream`` for asyncio, the model run in a worker thread; the answer comes last."""
        pieces, answer = await asyncio.to_thread(self._answer, question, hits)
        for piece in pieces:
            yield piece
        yield answer

    def generate(self, question: str, hits: Sequence[Hit], *, instructions: str = "") -> Answer:
        """Return the cited sentences as an answer; each citation quotes its sentences."""
        return self._answer(question, hits)[1]

    def _answer(self, question: str, hits: Sequence[Hit]) -> tuple[list[str], Answer]:
        if not hits:
            answer = no_hits_answer(question, self.name)
            return [answer.text], answer
        picks = self._pick(question, hits)
        numbers: dict[int, int] = {}  # hit -> citation number, in order of first use
        quotes: dict[int, list[str]] = {}
        for pick in picks:
            numbers.setdefault(pick.hit, len(numbers) + 1)
            quotes.setdefault(pick.hit, []).append(pick.sentence)
        pieces = [
            f"{' ' if i else ''}{p.sentence} [{numbers[p.hit]}]" for i, p in enumerate(picks)
        ] or [NO_ANSWER_TEXT]
        citations: tuple[Citation, ...] = tuple(
            citation_for(numbers[hit], hits[hit - 1], " … ".join(sentences))
            for hit, sentences in quotes.items()
        )
        return pieces, Answer(
            question=question,
            text="".join(pieces),
            citations=citations,
            hits=tuple(hits),
            generator=self.name,
        )


def _shorten(sentence: str, limit: int) -> str:
    """Cut ``sentence`` to at most ``limit`` characters at a word boundary."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(None, 1)[0]
    return cut or sentence[:limit]
