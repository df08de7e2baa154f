"""Losses compute in at least float32: bf16/fp16 activations from autocast are raised to float32
(their sums lose too much otherwise), while float64 stays float64, so ``gradcheck`` can verify the
gradients in double precision (tests/contracts/test_losses.py)."""
from __future__ import annotations

import torch
from torch import Tensor


def at_least_fp32(x: Tensor) -> Tensor:
    """``x`` in float32, or in its own dtype when that is wider (float64)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))
