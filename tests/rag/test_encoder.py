"""The transformer encoder: bundled model offline, any HF encoder folder, exact pooling."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import build_tiny_model
from transformers import AutoModel, AutoTokenizer

from rag.config import EmbedderConfig
from rag.encoders import BUNDLED_NAME, TransformerEncoder, bundled_model_path
from rag.errors import ConfigError, EmbeddingError
from rag.windows import macro_windows

pytestmark = pytest.mark.slow


def test_bundled_model_loads_offline_with_its_trained_length(encoder: TransformerEncoder) -> None:
    assert encoder.name == BUNDLED_NAME
    assert encoder.dim == 384
    assert encoder.max_tokens == 256  # max_seq_length, not the 512 positions
    assert encoder.content_window == 254


def test_embed_matches_transformers_mean_pooling() -> None:
    encoder = TransformerEncoder(EmbedderConfig(precision="fp32")).load()  # the reference's
    texts = ["Cash flow from operations rose.", "A short one"]
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path())
    model = AutoModel.from_pretrained(bundled_model_path())
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = (states * mask).sum(1) / mask.sum(1)
    expected = torch.nn.functional.normalize(expected, dim=1).numpy()
    np.testing.assert_allclose(encoder.embed(texts, "document"), expected, atol=1e-5)


LONG_QUESTION = (
    "Considering the consolidated statements of cash flows, the segment disclosures, the "
    "management discussion of liquidity and capital resources, and the notes on debt, leases "
    "and commitments, how did the company's operating cash flow, capital expenditure and free "
    "cash flow change from the prior fiscal year to the most recent one, which business "
    "segments contributed most to that change, what reasons did management give for the "
    "movement in working capital, including inventories, receivables and payables, how much "
    "was returned to shareholders through dividends and share repurchases, how did net debt "
    "and the leverage ratio evolve over the period, were there any acquisitions, divestitures "
    "or impairments that affected the comparison, what guidance did management provide for "
    "the coming year regarding capital spending and cash generation, and how do these figures "
    "compare with the targets announced at the last investor day, taking into account "
    "currency effects, restructuring charges and any one-off tax payments that were disclosed? "
    "Please also explain whether the auditors raised any concerns about going concern, "
    "revenue recognition or internal controls, and list the page numbers of the filing where "
    "each of these figures can be found so that I can check them myself: FY2021 $12,345.6m, "
    "FY2022 $13,579.2m, FY2023 $14,802.9m (Q1 3,101; Q2 3,877; Q3 3,945; Q4 3,879.9)."
)


def test_a_question_longer_than_the_window_is_embedded_whole(encoder: TransformerEncoder) -> None:
    assert len(LONG_QUESTION) > 1200 and len(encoder.tokenize(LONG_QUESTION)) > 300
    vectors = encoder.embed([LONG_QUESTION, "cash flow"], "query")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # The words past the first window count: the vector is not that of a truncated question.
    head = encoder._tokenizer.decode(encoder.tokenize(LONG_QUESTION).ids[: encoder.content_window])
    assert float(vectors[0] @ encoder.embed([head], "query")[0]) < 0.995


def test_long_texts_are_pooled_over_overlapping_windows(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "w", "bert8k")
    config = EmbedderConfig(model=str(folder), max_tokens=12, precision="fp32")
    encoder = TransformerEncoder(config).load()
    text = " ".join(["the robot sat on the mat and the dog ran"] * 3)  # 30 tokens, 10 per window
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    kept = []
    for w in macro_windows(len(ids), 10, 2):  # a quarter of the window overlaps
        window = [tokenizer.cls_token_id, *ids[w.start : w.end], tokenizer.sep_token_id]
        with torch.no_grad():
            states = model(torch.tensor([window])).last_hidden_state[0].numpy()
        body = states[1 + w.keep_from - w.start : -1]
        kept += ([states[0]] if w.start == 0 else []) + list(body)
        if w.end == len(ids):
            kept.append(states[-1])
    expected = np.mean(kept, axis=0)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(encoder.embed([text], "query")[0], expected, atol=1e-5)


def test_hub_name_not_cached_gives_a_clear_error() -> None:
    with pytest.raises(EmbeddingError, match="local Hugging Face cache"):
        TransformerEncoder(EmbedderConfig(model="nobody/no-such-model")).load()


@pytest.mark.parametrize(
    ("kind", "max_tokens"), [("bert8k", 8192), ("modernbert", 8192), ("xlmr", 512)]
)
def test_any_hf_encoder_folder_works(tmp_path: Path, kind: str, max_tokens: int) -> None:
    folder = build_tiny_model(tmp_path / kind, kind)
    encoder = TransformerEncoder(EmbedderConfig(model=str(folder))).load()
    assert encoder.max_tokens == max_tokens
    tokens = encoder.tokenize("The robot sat on the mat. The dog ran.")
    states = encoder.token_states([tokens.ids])[0]
    assert states.body.shape == (len(tokens), 32)
    assert states.head.shape[0] == 1 and states.tail.shape[0] == 1
    vectors = encoder.embed(["the robot", "the dog ran"], "query")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_a_cls_pooled_model_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = build_tiny_model(tmp_path / "cls", "bert8k", pooling="cls")
    with caplog.at_level(logging.WARNING):
        TransformerEncoder(EmbedderConfig(model=str(folder))).load()
    assert "cls-pooled" in caplog.text


def test_max_tokens_beyond_the_positions_is_refused(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "x", "xlmr")
    with pytest.raises(ConfigError, match="exceeds the 512 positions"):
        TransformerEncoder(EmbedderConfig(model=str(folder), max_tokens=600)).load()


def test_a_document_prefix_goes_into_the_head(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "p", "bert8k")
    config = EmbedderConfig(model=str(folder), document_prefix="document :")
    encoder = TransformerEncoder(config).load()
    tokens = encoder.tokenize("the cat sat")
    states = encoder.token_states([tokens.ids])[0]
    assert states.head.shape[0] == 3  # [CLS] document :
    assert encoder.content_window == 8192 - 4
