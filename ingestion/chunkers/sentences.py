"""Sentence spans (NLTK punkt, offline) and the chunker that packs whole sentences."""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.chunkers.packing import (
    CUT_ANY,
    CUT_SENTENCE,
    SpanChunker,
    TokenIndex,
    Unit,
    cut_pieces,
    pack,
    split_by_tokens,
)
from rag.types import Document, Span

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

logger = logging.getLogger(__name__)

PUNKT_LANGUAGE = "english"
_PUNKT_TABLES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")

_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
_CJK_END = re.compile(r"[。！？]+[」』”’）)]*")
_REGEX_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)""")


def _punkt_folders() -> list[Path]:
    """Folders that may hold ``tokenizers/punkt_tab``: llama-index's bundled cache, then NLTK's."""
    folders: list[Path] = []
    spec = importlib.util.find_spec("llama_index.core")  # locates it without importing it
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            folders.append(Path(location) / "_static" / "nltk_cache")
    import nltk.data

    folders.extend(Path(str(entry)) for entry in nltk.data.path)
    return folders


@functools.cache
def load_punkt() -> PunktSentenceTokenizer | None:
    """Return the English punkt sentence tokenizer from local tables, or None if there are none.

    Reads the ``punkt_tab`` tables llama-index-core ships (or any in NLTK's data path) with
    NLTK's own decoder; never downloads and leaves NLTK's global settings alone.
    """
    try:
        from nltk.tabdata import PunktDecoder
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    except ImportError:
        logger.warning("nltk punkt is not available; splitting sentences with a regex")
        return None
    for folder in _punkt_folders():
        tables = folder / "tokenizers" / "punkt_tab" / PUNKT_LANGUAGE
        if not all((tables / name).is_file() for name in _PUNKT_TABLES):
            continue
        decoder = PunktDecoder()
        params = PunktParameters()
        try:
            with (tables / "collocations.tab").open(encoding="utf-8") as f:
                params.collocations = set(decoder.tab2tups(f))
            with (tables / "sent_starters.txt").open(encoding="utf-8") as f:
                params.sent_starters = decoder.txt2set(f)
            with (tables / "abbrev_types.txt").open(encoding="utf-8") as f:
                params.abbrev_types = decoder.txt2set(f)
            with (tables / "ortho_context.tab").open(encoding="utf-8") as f:
                params.ortho_context = decoder.tab2intdict(f)
        except (OSError, ValueError) as e:
            logger.warning("cannot read punkt tables in %s: %s", tables, e)
            continue
        logger.debug("punkt tables loaded from %s", tables)
        return PunktSentenceTokenizer(params)
    logger.warning("no punkt_tab/%s tables found; splitting sentences with a regex", PUNKT_LANGUAGE)
    return None


def sentence_starts(text: str) -> list[int]:
    """Return where sentences of ``text`` start by punctuation alone (the fallback splitter)."""
    return [m.end() for m in _REGEX_END.finditer(text)]


def sentence_spans(text: str, span: Span | None = None, *, line_breaks: bool = True) -> list[Span]:
    """Return the stripped sentences of ``text[span]``; line breaks also end sentences.

    Sentences tile the span: only whitespace between them is left out. With
    ``line_breaks=False`` only punctuation ends a sentence (prose wrapped over lines). This is
    the one sentence splitter: the chunkers and the extractive answers both use it.
    """
    start, end = span if span is not None else (0, len(text))
    piece = text[start:end]
    punkt = load_punkt()
    if punkt is not None:
        cuts = [s for s, _ in punkt.span_tokenize(piece)]
    else:
        cuts = sentence_starts(piece)
    cuts += [m.end() for m in _CJK_END.finditer(piece)]
    if line_breaks:
        cuts += [m.end() for m in _LINE_BREAK.finditer(piece)]
    return [(start + s, start + e) for s, e in cut_pieces(piece, cuts, 0, len(piece))]


def sentence_units(
    text: str, index: TokenIndex, span: Span, chunk_size: int, first_cut: int
) -> list[Unit]:
    """Return the sentences of ``span`` as packing units, long ones cut by tokens."""
    units: list[Unit] = []
    for sentence in sentence_spans(text, span):
        for k, piece in enumerate(split_by_tokens(text, index, sentence, chunk_size)):
            cut = CUT_ANY if k else (first_cut if not units else CUT_SENTENCE)
            units.append(Unit(piece, cut))
    return units


def split_sentences(doc: Document, index: TokenIndex, chunk_size: int) -> list[Span]:
    """Pack whole sentences into chunks of at most ``chunk_size`` tokens."""
    text = doc.text
    units = sentence_units(text, index, (0, len(text)), chunk_size, CUT_SENTENCE)
    return pack(index, units, chunk_size)


SentenceChunker = partial(SpanChunker, strategy=split_sentences)
"""``SentenceChunker(tokenizer, chunk_size)``: whole sentences, packed."""
