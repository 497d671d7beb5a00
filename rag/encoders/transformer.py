"""A Hugging Face encoder that exposes token states for late chunking."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import EmbedderConfig
from rag.encoders.backends import OnnxRunner, TorchRunner
from rag.encoders.hardware import Runtime, choose_runtime, this_machine
from rag.encoders.model_info import (
    BUNDLED_NAME,
    ModelInfo,
    bundled_model_path,
    model_window,
    read_model_info,
)
from rag.errors import ConfigError, EmbeddingError
from rag.protocols import Runner, TextKind
from rag.types import Tokens, WindowStates
from rag.vectors import normalise_rows
from rag.windows import default_overlap, macro_windows, pool_windows

logger = logging.getLogger(__name__)


def resolve_model_folder(name: str | None) -> Path:
    """Return the local folder of a model given by path or hub name, never downloading."""
    if name is None or name == BUNDLED_NAME:
        return bundled_model_path()
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception as e:  # the hub raises several unrelated types for "not cached"
        raise EmbeddingError(
            f"model {name!r} is neither a folder nor in the local Hugging Face cache "
            f"(download it first, e.g. `hf download {name}`): {type(e).__name__}"
        ) from e


class TransformerEncoder:
    """Any Hugging Face encoder by name or folder; loads on first use."""

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        self.config = config or EmbedderConfig()
        self.name = self.config.model or BUNDLED_NAME
        self._model: Any = None
        self._runner: Runner | None = None
        self._tokenizer: Any = None
        self._info = ModelInfo()
        self._head_ids: list[int] = []
        self._tail_ids: list[int] = []
        self._prefix_ids: dict[TextKind, list[int]] = {"query": [], "document": []}
        self._max_tokens = 0
        self._runtime = Runtime("?", "?", "?")

    def load(self) -> TransformerEncoder:
        """Load tokenizer and weights (idempotent); raises ``EmbeddingError`` on failure."""
        if self._model is not None:
            return self
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._runtime = choose_runtime(self.config, this_machine())
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        folder = resolve_model_folder(self.config.model)
        remote = self.config.trust_remote_code
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                folder, local_files_only=True, trust_remote_code=remote
            )
            model = AutoModel.from_pretrained(
                folder, local_files_only=True, trust_remote_code=remote
            )
        except (OSError, ValueError, KeyError) as e:
            raise EmbeddingError(f"cannot load model {self.name!r} from {folder}: {e}") from e
        if not getattr(tokenizer, "is_fast", False):
            raise EmbeddingError(
                f"model {self.name!r} has no fast tokenizer: late chunking needs character offsets"
            )
        self._info = read_model_info(folder)
        if self._info.pooling not in (None, "mean"):
            logger.warning(
                "model %s is %s-pooled: late chunking mean-pools token states and loses "
                "most of its benefit with such models",
                self.name,
                self._info.pooling,
            )
        elif self._info.pooling is None:
            logger.warning(
                "model %s has no sentence-transformers pooling config; assuming mean pooling",
                self.name,
            )
        self._tokenizer = tokenizer
        self._split_specials()
        self._max_tokens = self._choose_max_tokens(model.config)
        prefixes: dict[TextKind, str | None] = {
            "query": self.config.query_prefix or self._info.query_prefix,
            "document": self.config.document_prefix or self._info.document_prefix,
        }
        for kind, prefix in prefixes.items():
            self._prefix_ids[kind] = list(self.tokenize(prefix).ids) if prefix else []
        if self._window() < 8:
            raise ConfigError(f"model {self.name!r}: a window of {self._max_tokens} is too small")
        if self.config.backend == "onnx":
            self._runner = OnnxRunner(folder, self.config)
        else:
            self._runner = TorchRunner(model, self._runtime)
        self._model = model
        return self

    def _split_specials(self) -> None:
        probe = self._tokenizer("a", add_special_tokens=True)["input_ids"]
        content = self._tokenizer("a", add_special_tokens=False)["input_ids"]
        for i in range(len(probe) - len(content) + 1):
            if probe[i : i + len(content)] == content:
                self._head_ids, self._tail_ids = probe[:i], probe[i + len(content) :]
                return
        raise EmbeddingError(f"model {self.name!r}: cannot locate content among special tokens")

    def _choose_max_tokens(self, model_config: Any) -> int:
        chosen, trained = model_window(
            f"model {self.name!r}",
            self._tokenizer,
            model_config,
            trained=self._info.max_seq_length,
            wanted=self.config.max_tokens,
        )
        if chosen > trained:
            logger.warning(
                "model %s was trained on %d tokens; windows of %d may embed worse",
                self.name,
                trained,
                chosen,
            )
        return chosen

    @property
    def dim(self) -> int:
        """Size of the vectors."""
        return int(self.load()._model.config.hidden_size)

    @property
    def runtime(self) -> dict[str, str]:
        """The device, precision and backend the forward pass runs in."""
        return self.load()._runtime.describe()

    @property
    def max_tokens(self) -> int:
        """Positions per forward pass, special tokens and prefix included."""
        return self.load()._max_tokens

    @property
    def content_window(self) -> int:
        """Document content tokens that fit in one forward pass."""
        self.load()
        return self._window()

    def _window(self) -> int:
        head = len(self._head_ids) + len(self._prefix_ids["document"])
        return self._max_tokens - head - len(self._tail_ids)

    def tokenize(self, text: str) -> Tokens:
        """Tokenize without special tokens, keeping each token's character span."""
        if self._tokenizer is None:
            self.load()
        encoded = self._tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return Tokens(
            ids=tuple(encoded["input_ids"]),
            offsets=tuple((int(a), int(b)) for a, b in encoded["offset_mapping"]),
        )

    def token_states(self, windows: Sequence[Sequence[int]]) -> list[WindowStates]:
        """Run the model over document windows, batched by the token budget."""
        self.load()
        head = self._head_ids + self._prefix_ids["document"]
        inputs = [head + list(w) + self._tail_ids for w in windows]
        too_long = [len(x) for x in inputs if len(x) > self._max_tokens]
        if too_long:
            raise EmbeddingError(
                f"a window of {max(too_long)} tokens exceeds the model's {self._max_tokens}"
            )
        return self._window_states(inputs, len(head))

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Mean-pool each text on its own (special tokens and prefix included); L2-normalise.

        A text longer than one window goes through overlapping windows and is pooled like one
        late chunk spanning all of it (``rag.windows.pool_windows``), so nothing is cut off.
        """
        self.load()
        head = self._head_ids + self._prefix_ids[kind]
        size = self._max_tokens - len(head) - len(self._tail_ids)
        encoded = self._tokenizer(list(texts), add_special_tokens=False, verbose=False)
        all_ids = encoded["input_ids"]
        plans = [macro_windows(len(ids), size, default_overlap(size)) for ids in all_ids]
        inputs: list[list[int]] = []
        for ids, windows in zip(all_ids, plans, strict=True):
            inputs += [head + ids[w.start : w.end] + self._tail_ids for w in windows]
            if len(windows) > 1:
                logger.debug("a text of %d tokens embedded in %d windows", len(ids), len(windows))
        states = self._window_states(inputs, len(head))
        out = np.zeros((len(plans), self.dim), dtype=np.float32)
        first = 0
        for i, windows in enumerate(plans):
            out[i] = pool_windows(windows, states[first : first + len(windows)])
            first += len(windows)
        return normalise_rows(out)

    def _window_states(self, inputs: Sequence[Sequence[int]], head: int) -> list[WindowStates]:
        """Run full model inputs (``head`` leading tokens each), batched by the token budget."""
        results: list[WindowStates | None] = [None] * len(inputs)
        for batch in self._batches(inputs):
            states = self._forward([inputs[i] for i in batch])
            for row, i in enumerate(batch):
                n = len(inputs[i])
                out = states[row, :n]
                results[i] = WindowStates(
                    head=out[:head],
                    body=out[head : n - len(self._tail_ids)],
                    tail=out[n - len(self._tail_ids) :],
                )
        return [r for r in results if r is not None]

    def _batches(self, inputs: Sequence[Sequence[int]]) -> Iterator[list[int]]:
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]), reverse=True)
        batch: list[int] = []
        for i in order:
            longest = len(inputs[batch[0]]) if batch else len(inputs[i])
            if batch and longest * (len(batch) + 1) > self.config.batch_tokens:
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _forward(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        width = max(len(x) for x in inputs)
        ids = np.full((len(inputs), width), self._tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(inputs), width), dtype=np.int64)
        for row, x in enumerate(inputs):
            ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        if self._runner is None:
            raise EmbeddingError(f"model {self.name!r} is not loaded")
        try:
            return self._runner(ids, mask)
        except RuntimeError as e:
            raise EmbeddingError(f"model {self.name!r} failed on a batch: {e}") from e
