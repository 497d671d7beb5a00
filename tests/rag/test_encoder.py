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

pytestmark = pytest.mark.slow


def test_bundled_model_loads_offline_with_its_trained_length(encoder: TransformerEncoder) -> None:
    assert encoder.name == BUNDLED_NAME
    assert encoder.dim == 384
    assert encoder.max_tokens == 256  # max_seq_length, not the 512 positions
    assert encoder.content_window == 254


def test_embed_matches_transformers_mean_pooling(encoder: TransformerEncoder) -> None:
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


def test_embed_refuses_to_truncate(encoder: TransformerEncoder) -> None:
    with pytest.raises(EmbeddingError, match="exceeds the 256-token window"):
        encoder.embed(["word " * 400], "document")


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
