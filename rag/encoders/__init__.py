"""Transformer encoders that expose token states for late chunking."""

from rag.encoders.model_info import BUNDLED_NAME, ModelInfo, bundled_model_path, read_model_info
from rag.encoders.transformer import TransformerEncoder, resolve_model_folder

__all__ = [
    "BUNDLED_NAME",
    "ModelInfo",
    "TransformerEncoder",
    "bundled_model_path",
    "read_model_info",
    "resolve_model_folder",
]
