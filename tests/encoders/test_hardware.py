"""The forward pass's device and precision follow the machine unless asked for."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.config import EmbedderConfig
from rag.encoders.hardware import Machine, Runtime, choose_runtime, cpu_flags
from rag.errors import ConfigError

ZEN3 = Machine(cpu_flags=frozenset({"sse4_2", "avx2", "fma"}))
SAPPHIRE_RAPIDS = Machine(cpu_flags=frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}))
COOPER_LAKE = Machine(cpu_flags=frozenset({"avx512f", "avx512_bf16"}))
A100 = Machine(cpu_flags=ZEN3.cpu_flags, cuda=True, cuda_bf16=True)
T4 = Machine(cpu_flags=ZEN3.cpu_flags, cuda=True, cuda_bf16=False)


def test_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx2 amx_bf16 avx512_bf16\n"
        "processor\t: 1\nflags\t\t: fpu avx2 amx_bf16 avx512_bf16\n"
    )
    assert cpu_flags(info) == {"fpu", "avx2", "amx_bf16", "avx512_bf16"}
    assert cpu_flags(tmp_path / "absent") == frozenset()  # macOS, Windows: no bf16 claimed


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        (ZEN3, Runtime("cpu", "fp32", "torch")),
        (SAPPHIRE_RAPIDS, Runtime("cpu", "bf16", "torch")),
        (COOPER_LAKE, Runtime("cpu", "bf16", "torch")),
        (A100, Runtime("cuda", "bf16", "torch")),
        (T4, Runtime("cuda", "fp32", "torch")),
    ],
)
def test_auto_is_bf16_only_where_the_device_computes_it(
    machine: Machine, expected: Runtime
) -> None:
    assert choose_runtime(EmbedderConfig(), machine) == expected


def test_an_explicit_choice_overrides_auto() -> None:
    fp32 = EmbedderConfig(precision="fp32")
    assert choose_runtime(fp32, SAPPHIRE_RAPIDS) == Runtime("cpu", "fp32", "torch")
    assert choose_runtime(EmbedderConfig(device="cpu"), A100) == Runtime("cpu", "fp32", "torch")


def test_bf16_without_the_instructions_warns_that_it_is_slow(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        runtime = choose_runtime(EmbedderConfig(precision="bf16"), ZEN3)
    assert runtime.precision == "bf16"
    assert "emulates it, slower than fp32" in caplog.text


def test_onnx_is_fp32_on_the_cpu_whatever_auto_would_pick() -> None:
    onnx = EmbedderConfig(backend="onnx")
    assert choose_runtime(onnx, SAPPHIRE_RAPIDS) == Runtime("cpu", "fp32", "onnx")
    with pytest.raises(ConfigError, match="fp32 on the cpu only"):
        choose_runtime(EmbedderConfig(backend="onnx", device="cuda"), A100)


@pytest.mark.parametrize(
    ("device", "message"), [("cuda:1", "no CUDA GPU"), ("mps", "MPS is not available")]
)
def test_an_absent_device_is_refused_by_name(device: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_runtime(EmbedderConfig(device=device), ZEN3)
