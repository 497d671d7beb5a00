"""Ways to run an encoder's forward pass: torch (fp32 or bf16, any device) or ONNX Runtime."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import EmbedderConfig, default_cache_dir
from rag.encoders.hardware import Runtime
from rag.errors import EmbeddingError

logger = logging.getLogger(__name__)

ONNX_OPSET = 17


class TorchRunner:
    """The model in torch, in fp32 or bf16, under ``inference_mode``."""

    def __init__(self, model: Any, runtime: Runtime) -> None:
        import torch

        self._torch = torch
        self._device = runtime.device
        dtype = torch.bfloat16 if runtime.precision == "bf16" else torch.float32
        self._model = model.to(device=runtime.device, dtype=dtype).eval()

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Run one padded batch."""
        torch = self._torch
        with torch.inference_mode():
            output = self._model(
                input_ids=torch.from_numpy(ids).to(self._device),
                attention_mask=torch.from_numpy(mask).to(self._device),
            )
        return np.asarray(output.last_hidden_state.float().cpu().numpy())


def _export_path(folder: Path) -> Path:
    import torch

    stat = (folder / "config.json").stat()
    weights = sorted(p.name + str(p.stat().st_size) for p in folder.glob("*.safetensors"))
    key = f"{folder.resolve()}|{stat.st_mtime_ns}|{weights}|{torch.__version__}|{ONNX_OPSET}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return default_cache_dir() / "onnx" / f"{folder.name}-{digest}.onnx"


def _export(folder: Path, target: Path, trust_remote_code: bool) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        folder,
        local_files_only=True,
        trust_remote_code=trust_remote_code,
        attn_implementation="eager",
    ).eval()

    class _States(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # A padded sample, so the attention mask is traced as an input and not folded away.
    ids = torch.full((2, 16), 5, dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 8:] = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".onnx", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _States(),
                (ids, mask),
                str(partial),
                input_names=["input_ids", "attention_mask"],
                output_names=["states"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "width"},
                    "attention_mask": {0: "batch", 1: "width"},
                    "states": {0: "batch", 1: "width"},
                },
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


class OnnxRunner:
    """The model exported once to ONNX (cached under ``~/.cache/laterag/onnx``), run on CPU."""

    def __init__(self, folder: Path, config: EmbedderConfig) -> None:
        try:
            import onnx  # noqa: F401  (the exporter needs it)
            import onnxruntime as ort
        except ImportError as e:
            raise ImportError(
                "the onnx backend needs onnx and onnxruntime: pip install 'laterag[onnx]'"
            ) from e
        path = _export_path(folder)
        if not path.is_file():
            logger.info("exporting %s to ONNX at %s (once)", folder, path)
            try:
                _export(folder, path, config.trust_remote_code)
            except Exception as e:  # exporters raise many unrelated types
                raise EmbeddingError(
                    f"cannot export {folder} to ONNX ({type(e).__name__}: {e}); "
                    "use the torch backend"
                ) from e
        options = ort.SessionOptions()
        if config.threads:
            options.intra_op_num_threads = config.threads
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Run one padded batch."""
        (states,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(states, dtype=np.float32)
