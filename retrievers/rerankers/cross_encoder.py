"""Cross-encoder reranking: any Hugging Face sequence-classification model scores each pair."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.encoders import resolve_model_folder
from rag.encoders.model_info import model_window
from rag.errors import ConfigError, EmbeddingError
from rag.types import Hit
from retrievers.rerankers.ranking import rescored

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a cross-encoder such as bge-reranker or ms-marco MiniLM.

    The model is loaded on first use, from a folder or the local Hugging Face cache only.
    Passages longer than the model's window are truncated, with a warning; so is a query of
    more than half the window (cut to that half, so every passage keeps the other).
    """

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        batch_size: int = 16,
        max_tokens: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"reranker batch size must be at least 1, got {batch_size}")
        self.model = model
        self.name = f"cross-encoder:{model}"
        self.device = device
        self.batch_size = batch_size
        self._max_tokens_setting = max_tokens
        self._max_tokens = 0
        self._model: Any = None
        self._tokenizer: Any = None

    def __repr__(self) -> str:
        return f"CrossEncoderReranker(model={self.model!r}, device={self.device!r})"

    def load(self) -> CrossEncoderReranker:
        """Load tokenizer and weights (idempotent); raises ``EmbeddingError`` on failure."""
        if self._model is not None:
            return self
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = resolve_model_folder(self.model)
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(
                folder, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as e:
            raise EmbeddingError(f"cannot load reranker {self.model!r} from {folder}: {e}") from e
        labels = int(model.config.num_labels)
        if labels not in (1, 2):
            raise EmbeddingError(
                f"reranker {self.model!r} has {labels} output labels; "
                "a cross-encoder needs 1 (a relevance logit) or 2 (not relevant, relevant)"
            )
        self._max_tokens = self._choose_max_tokens(tokenizer, model.config)
        model.eval()
        self._tokenizer = tokenizer
        self._model = model.to(self.device)
        return self

    def _choose_max_tokens(self, tokenizer: Any, model_config: Any) -> int:
        name = f"reranker {self.model!r}"
        wanted = self._max_tokens_setting
        return model_window(name, tokenizer, model_config, trained=None, wanted=wanted)[0]

    @property
    def max_tokens(self) -> int:
        """Positions per (query, passage) pair, special tokens included."""
        return self.load()._max_tokens

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """Return one relevance score per passage (higher is more relevant)."""
        self.load()
        if not passages:
            return np.zeros(0, dtype=np.float32)
        query = self._fit_query(query)
        scores: list[np.ndarray] = []
        truncated = 0
        for start in range(0, len(passages), self.batch_size):
            batch = list(passages[start : start + self.batch_size])
            truncated += self._count_too_long(query, batch)
            scores.append(self._forward(query, batch))
        if truncated:
            log.warning(
                "reranker %s truncated %d of %d passages to its %d-token window",
                self.model,
                truncated,
                len(passages),
                self._max_tokens,
            )
        return np.concatenate(scores)

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Return the ``k`` hits the cross-encoder scores highest, best first."""
        if not hits or k < 1:
            return []
        scores = self.score(query, [hit.chunk.text for hit in hits])
        return rescored(hits, scores.tolist(), k)

    def _fit_query(self, query: str) -> str:
        """Return ``query``, cut to half the window (with a warning) if it is longer."""
        limit = self._max_tokens // 2
        encoded = self._tokenizer(
            query, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        offsets = encoded["offset_mapping"]
        if len(offsets) <= limit:
            return query
        log.warning(
            "reranker %s cut a query of %d tokens to %d, half its %d-token window",
            self.model,
            len(offsets),
            limit,
            self._max_tokens,
        )
        return query[: int(offsets[limit - 1][1])]

    def _count_too_long(self, query: str, passages: list[str]) -> int:
        # verbose=False: lengths are only measured here, the forward pass truncates.
        encoded = self._tokenizer(
            [query] * len(passages), passages, truncation=False, verbose=False
        )
        return sum(len(ids) > self._max_tokens for ids in encoded["input_ids"])

    def _forward(self, query: str, passages: list[str]) -> np.ndarray:
        import torch

        inputs = self._tokenizer(
            [query] * len(passages),
            passages,
            padding=True,
            truncation="only_second",
            max_length=self._max_tokens,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            logits = self._model(**inputs).logits.float()
        # One logit is a relevance score; two are (not relevant, relevant) classes.
        out = logits[:, 0] if logits.shape[-1] == 1 else torch.softmax(logits, dim=-1)[:, 1]
        return np.asarray(out.cpu().numpy(), dtype=np.float32)
