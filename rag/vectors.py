"""Row normalisation, and Matryoshka-style truncation (the first dimensions, renormalised).

Truncation is applied where vectors leave the encoder, so chunk vectors, query vectors and
everything built on them (late-chunking pools, rerankers) share one size. A collection keeps
the size it was made with: later queries are truncated to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rag.errors import ConfigError
from rag.protocols import TextKind, TokenEmbedder
from rag.types import Tokens, WindowStates


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Return each row divided by its L2 norm (rows of norm below 1e-12 by 1e-12)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def truncate(vectors: np.ndarray, dims: int) -> np.ndarray:
    """Return the first ``dims`` entries of each row, L2-normalised (zero rows stay zero)."""
    if dims < 1 or dims > vectors.shape[-1]:
        raise ConfigError(f"cannot keep {dims} dimensions of vectors of size {vectors.shape[-1]}")
    kept = np.asarray(vectors[..., :dims], dtype=np.float32)
    norms = np.linalg.norm(kept, axis=-1, keepdims=True)
    return np.divide(kept, norms, out=np.zeros_like(kept), where=norms > 0)


class EncoderView:
    """An encoder standing for ``inner``: every call goes to it; subclasses change some."""

    def __init__(self, encoder: TokenEmbedder) -> None:
        self.inner = encoder
        self.name = encoder.name

    @property
    def dim(self) -> int:
        """Size of the vectors."""
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        """Positions per forward pass."""
        return self.inner.max_tokens

    @property
    def content_window(self) -> int:
        """Content tokens in one window."""
        return self.inner.content_window

    @property
    def runtime(self) -> Mapping[str, str]:
        """The inner encoder's runtime."""
        return self.inner.runtime

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Embed with the inner encoder."""
        return self.inner.embed(texts, kind)

    def tokenize(self, text: str) -> Tokens:
        """Tokenize with the inner encoder."""
        return self.inner.tokenize(text)

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Run the inner model."""
        return self.inner.token_states(windows)


class TruncatedEncoder(EncoderView):
    """An encoder whose vectors and token states keep only their first ``dims`` dimensions.

    Token states are cut, not renormalised: mean pooling commutes with the cut, and the
    pooled vector is normalised after, as for a full-size model.
    """

    def __init__(self, encoder: TokenEmbedder, dims: int) -> None:
        if dims > encoder.dim:
            raise ConfigError(
                f"embedder dims {dims} exceed the {encoder.dim} dimensions of {encoder.name!r}"
            )
        super().__init__(encoder)
        self.dims = dims

    @property
    def dim(self) -> int:
        """Size of the vectors."""
        return self.dims

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Embed with the inner encoder, then truncate and renormalise."""
        return truncate(self.inner.embed(texts, kind), self.dims)

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Run the inner model and keep the first ``dims`` features of every state."""
        return [
            WindowStates(
                head=s.head[..., : self.dims],
                body=s.body[..., : self.dims],
                tail=s.tail[..., : self.dims],
            )
            for s in self.inner.token_states(windows)
        ]


def fit_dims(encoder: TokenEmbedder, wanted: int | None, stored: int | None) -> TokenEmbedder:
    """Return ``encoder`` cut to the wanted size, else to the collection's ``stored`` size.

    Refuses a size larger than the model's and one that differs from an existing collection's.
    """
    if wanted is not None and wanted > encoder.dim:
        raise ConfigError(
            f"embedder dims {wanted} exceed the {encoder.dim} dimensions of {encoder.name!r}"
        )
    if wanted is not None and stored is not None and wanted != stored:
        raise ConfigError(
            f"the collection holds vectors of size {stored}, not {wanted}: use dims {stored} "
            "or another collection"
        )
    dims = wanted if wanted is not None else stored
    if dims is None or dims >= encoder.dim:
        return encoder
    return TruncatedEncoder(encoder, dims)
