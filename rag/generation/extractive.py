"""Answers without a language model: the retrieved sentences closest to the question, cited."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import AsyncGenerator, Generator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.generation.citations import NO_HITS_TEXT, citation_for, no_hits_answer
from rag.protocols import Embedder
from rag.types import Answer, Citation, Hit, Span

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

_WORD = re.compile(r"\w")
_LINE = re.compile(r"[^\n]+")
_MIN_WORD_CHARS = 3


@lru_cache(maxsize=1)
def _punkt() -> PunktSentenceTokenizer:
    """Load NLTK's English punkt model from llama-index-core's bundled data (no download)."""
    from nltk.tabdata import PunktDecoder
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("sentence splitting needs llama-index-core: pip install llama-index-core")
    root = Path(next(iter(spec.submodule_search_locations)))
    folder = root / "_static" / "nltk_cache" / "tokenizers" / "punkt_tab" / "english"
    decoder = PunktDecoder()
    params = PunktParameters()
    with open(folder / "collocations.tab", encoding="utf-8") as f:
        params.collocations = set(decoder.tab2tups(f))
    with open(folder / "sent_starters.txt", encoding="utf-8") as f:
        params.sent_starters = decoder.txt2set(f)
    with open(folder / "abbrev_types.txt", encoding="utf-8") as f:
        params.abbrev_types = decoder.txt2set(f)
    with open(folder / "ortho_context.tab", encoding="utf-8") as f:
        params.ortho_context = decoder.tab2intdict(f)
    return PunktSentenceTokenizer(params)


def _blocks(text: str) -> list[Span]:
    """Group lines into blocks: a line starting in lower case continues the previous line."""
    blocks: list[Span] = []
    for line in _LINE.finditer(text):
        first = line.group().lstrip()[:1]
        if blocks and first.islower() and text[blocks[-1][1] : line.start()].count("\n") == 1:
            blocks[-1] = (blocks[-1][0], line.end())
        else:
            blocks.append((line.start(), line.end()))
    return blocks


def sentence_spans(text: str) -> list[Span]:
    """Return the spans of the sentences of ``text``.

    A line break ends a sentence (table rows, list items, headings) unless the next line starts
    in lower case (wrapped prose). Spans are stripped of surrounding whitespace; fragments with
    fewer than three word characters (page numbers, bullets) are dropped.
    """
    tokenizer = _punkt()
    spans: list[Span] = []
    for block_start, block_end in _blocks(text):
        block = text[block_start:block_end]
        for start, end in tokenizer.span_tokenize(block):
            piece = block[start:end]
            stripped = piece.strip()
            if len(_WORD.findall(stripped)) < _MIN_WORD_CHARS:
                continue
            offset = block_start + start + (len(piece) - len(piece.lstrip()))
            spans.append((offset, offset + len(stripped)))
    return spans


@dataclass(frozen=True)
class _Pick:
    number: int
    sentence: str
    score: float


def _shorten(sentence: str, limit: int) -> str:
    """Cut ``sentence`` to at most ``limit`` characters at a word boundary."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(None, 1)[0]
    return cut or sentence[:limit]


class ExtractiveGenerator:
    """Answers with the top hits' sentences most similar to the question, best first."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_sentences: int = 3,
        max_chars: int = 600,
        max_hits: int = 5,
    ) -> None:
        if max_sentences < 1 or max_chars < 1 or max_hits < 1:
            raise ValueError("max_sentences, max_chars and max_hits must each be at least 1")
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.max_hits = max_hits

    def _pick(self, question: str, hits: Sequence[Hit]) -> list[_Pick]:
        """Return the chosen sentences, best first, within the sentence and character budget."""
        candidates: list[tuple[int, str]] = []
        scored: list[str] = []  # what is compared with the question: a row under its header
        seen: set[str] = set()
        for number, hit in enumerate(hits[: self.max_hits], start=1):
            text = hit.chunk.text
            for start, end in sentence_spans(text):
                sentence = text[start:end]
                if sentence not in seen:
                    seen.add(sentence)
                    candidates.append((number, sentence))
                    context = hit.chunk.context
                    scored.append(f"{context}\n{sentence}" if context else sentence)
        if not candidates:
            return []
        query = self.embedder.embed([question], "query")[0]
        vectors = self.embedder.embed(scored, "document")
        scores = np.asarray(vectors, dtype=np.float64) @ np.asarray(query, dtype=np.float64)
        picks: list[_Pick] = []
        used = 0
        for i in np.argsort(-scores, kind="stable"):
            number, sentence = candidates[int(i)]
            if not picks:
                sentence = _shorten(sentence, self.max_chars)
            elif used + len(sentence) > self.max_chars:
                continue
            picks.append(_Pick(number, sentence, float(scores[i])))
            used += len(sentence)
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
        pieces = [
            f"{' ' if i else ''}{' '.join(p.sentence.split())} [{p.number}]"
            for i, p in enumerate(picks)
        ] or [NO_HITS_TEXT]
        quotes: dict[int, list[str]] = {}
        for pick in picks:
            quotes.setdefault(pick.number, []).append(pick.sentence)
        citations: tuple[Citation, ...] = tuple(
            citation_for(number, hits[number - 1], " … ".join(sentences))
            for number, sentences in quotes.items()
        )
        return pieces, Answer(
            question=question,
            text="".join(pieces),
            citations=citations,
            hits=tuple(hits),
            generator=self.name,
        )
