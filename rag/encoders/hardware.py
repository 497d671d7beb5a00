"""Which device and precision the forward pass runs in, read off the machine."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.config import EmbedderConfig
from rag.errors import ConfigError

logger = logging.getLogger(__name__)

BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
"""CPU flags (as Linux names them) with native bf16 arithmetic; without them torch emulates
bf16, several times slower than fp32."""

CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Runtime:
    """What one encoder runs on: recorded with every chunk, never compared on re-ingest."""

    device: str
    precision: str
    backend: str

    def describe(self) -> dict[str, str]:
        """The runtime as plain values."""
        return asdict(self)


@dataclass(frozen=True)
class Machine:
    """What the machine offers the forward pass."""

    cpu_flags: frozenset[str]
    cuda: bool = False
    cuda_bf16: bool = False
    mps: bool = False

    @property
    def cpu_bf16(self) -> bool:
        """True when the CPU computes bf16 natively."""
        return bool(self.cpu_flags & BF16_CPU_FLAGS)


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo``; empty where it cannot be read."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def this_machine() -> Machine:
    """Probe the CPU flags and the GPUs torch sees."""
    import torch

    cuda = torch.cuda.is_available()
    return Machine(
        cpu_flags=cpu_flags(),
        cuda=cuda,
        cuda_bf16=cuda and torch.cuda.is_bf16_supported(),
        mps=torch.backends.mps.is_available(),
    )


def _device(wanted: str, machine: Machine) -> str:
    if wanted == "auto":
        return "cuda" if machine.cuda else "cpu"
    kind = wanted.split(":", 1)[0]
    if kind == "cuda" and not machine.cuda:
        raise ConfigError(f"device {wanted!r} was asked for but torch sees no CUDA GPU")
    if kind == "mps" and not machine.mps:
        raise ConfigError(f"device {wanted!r} was asked for but MPS is not available")
    if kind not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {wanted!r}: use auto, cpu, cuda, cuda:N or mps")
    return wanted


def _native_bf16(device: str, machine: Machine) -> bool:
    kind = device.split(":", 1)[0]
    return (kind == "cpu" and machine.cpu_bf16) or (kind == "cuda" and machine.cuda_bf16)


def choose_runtime(config: EmbedderConfig, machine: Machine) -> Runtime:
    """Resolve ``auto`` device and precision; refuse what the machine or backend cannot run.

    ``auto`` precision is bf16 where the device computes it natively (CPUs with AVX-512 BF16
    or AMX, CUDA GPUs that support it) and fp32 elsewhere, and always fp32 on ONNX Runtime.
    """
    device = _device(config.device, machine)
    precision = config.precision
    if config.backend == "onnx":
        if device != "cpu" or precision == "bf16":
            raise ConfigError("the onnx backend runs fp32 on the cpu only")
        return Runtime("cpu", "fp32", "onnx")
    if precision == "auto":
        precision = "bf16" if _native_bf16(device, machine) else "fp32"
    elif precision == "bf16" and not _native_bf16(device, machine):
        logger.warning(
            "precision bf16 on %s without native bf16 (no AVX-512 BF16 or AMX): torch "
            "emulates it, slower than fp32",
            device,
        )
    return Runtime(device, precision, "torch")
