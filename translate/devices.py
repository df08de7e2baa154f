"""Device and numeric-precision choices, made once and passed down explicitly.

Why bf16 is the CPU default: on the AVX-512-bf16 CPUs this project is measured
on, a ResNet generator's forward+backward ran 1.8x faster under bf16 autocast than
in fp32 (see ``tools/bench_train.py``), while channels_last was slower. On CPUs
without native bf16 instructions autocast would emulate it and be slower, so
``auto`` falls back to fp32 there.
"""
from __future__ import annotations

import contextlib
import functools
import os
from typing import ContextManager, Optional

import torch

from translate.choices import PRECISIONS
from translate.errors import TranslateError

# What each precision of translate.choices.PRECISIONS (but auto, decided below) computes in;
# tests/test_choices.py keeps the two equal.
_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


class DeviceError(TranslateError, RuntimeError):
    """The requested device or precision cannot be used here."""


def resolve_device(name: str = "auto", local_rank: Optional[int] = None) -> torch.device:
    """``auto`` -> the local CUDA device if there is one, else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise DeviceError(f"--device {name}: unknown device (use auto, cpu, cuda or cuda:N)") from None
    if device.type not in ("cpu", "cuda"):
        # Other torch device types (mps, xpu, meta ...) are not what training and apply are tested on.
        raise DeviceError(f"--device {name}: not supported (use auto, cpu, cuda or cuda:N)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if device.index is None:
            device = torch.device("cuda", local_rank or 0)
        if device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """True when the CPU executes bf16 math natively (AVX-512 BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> Optional[torch.dtype]:
    """Map ``auto|fp32|bf16|fp16`` to an autocast dtype (None means plain fp32)."""
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu":
            return torch.bfloat16 if cpu_has_native_bf16() else None
        return None
    if precision not in _DTYPES:
        raise DeviceError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    dtype = _DTYPES[precision]
    if dtype is torch.float16 and device.type == "cpu":
        raise DeviceError("fp16 autocast is for CUDA; use --precision bf16 or fp32 on CPU")
    return dtype


def precision_name(dtype: Optional[torch.dtype]) -> str:
    return _NAMES[dtype]


def autocast(device: torch.device, dtype: Optional[torch.dtype]) -> ContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, dtype: Optional[torch.dtype]) -> "torch.amp.GradScaler":
    # Only fp16 has the narrow exponent range that needs loss scaling.
    return torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)


def configure_threads() -> None:
    """Respect OMP_NUM_THREADS when set; otherwise torch's default (all cores)."""
    if "OMP_NUM_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
