"""Faster forward passes keep the vectors: bf16 and ONNX Runtime against fp32 torch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from ingestion.chunk_builder import ChunkBuilder
from rag.config import ChunkingConfig, EmbedderConfig
from rag.encoders import TransformerEncoder
from rag.errors import ConfigError
from rag.types import Document

pytestmark = pytest.mark.slow

TEXTS = [
    "Net sales increased 9% to $12.4 billion, driven by growth in the Americas segment.",
    "The Company repurchased 3.2 million shares of common stock during fiscal 2023.",
    "Operating cash flow was negatively affected by higher inventory levels.",
]
HANDBOOK = Path(__file__).parents[2] / "examples" / "docs" / "handbook.md"


def _late_vectors(encoder: TransformerEncoder) -> np.ndarray:
    text = HANDBOOK.read_text(encoding="utf-8") * 3  # several macro windows
    doc = Document(id="h", source="h", text=text, content_hash="h")
    chunks = ChunkBuilder(encoder, ChunkingConfig(chunk_size=64)).build(doc)
    return np.array([c.vector for c in chunks])


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())


@pytest.fixture(scope="module")
def fp32_vectors() -> tuple[np.ndarray, np.ndarray]:
    fp32 = TransformerEncoder(EmbedderConfig(precision="fp32")).load()
    assert fp32.runtime["precision"] == "fp32"
    return fp32.embed(TEXTS, "document"), _late_vectors(fp32)


def test_bf16_vectors_keep_cosine_0999(fp32_vectors: tuple[np.ndarray, np.ndarray]) -> None:
    bf16 = TransformerEncoder(EmbedderConfig(precision="bf16")).load()
    assert bf16.runtime == {"device": "cpu", "precision": "bf16", "backend": "torch"}
    assert _min_cosine(bf16.embed(TEXTS, "document"), fp32_vectors[0]) >= 0.999
    assert _min_cosine(_late_vectors(bf16), fp32_vectors[1]) >= 0.999


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="needs laterag[onnx]",
)
def test_onnx_vectors_keep_cosine_0999(
    fp32_vectors: tuple[np.ndarray, np.ndarray],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    onnx = TransformerEncoder(EmbedderConfig(backend="onnx")).load()
    assert onnx.runtime == {"device": "cpu", "precision": "fp32", "backend": "onnx"}
    assert list(tmp_path.glob("laterag/onnx/*.onnx"))
    assert _min_cosine(onnx.embed(TEXTS, "document"), fp32_vectors[0]) >= 0.999
    assert _min_cosine(_late_vectors(onnx), fp32_vectors[1]) >= 0.999


def test_onnx_refuses_bf16() -> None:
    with pytest.raises(ConfigError, match="fp32 on the cpu only"):
        TransformerEncoder(EmbedderConfig(backend="onnx", precision="bf16")).load()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_an_absent_gpu_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        TransformerEncoder(EmbedderConfig(device="cuda")).load()


def test_an_unknown_device_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="use auto, cpu, cuda, cuda:N or mps"):
        TransformerEncoder(EmbedderConfig(device="tpu")).load()
