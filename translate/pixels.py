"""The one pixel mapping: uint8 images <-> the [-1, 1] floats every generator reads and writes.

Every room that turns pixels into network inputs or outputs back into pixels (reading datasets,
apply, video frames, the Python API, the pipelines, eval) calls these two functions, so the
mapping and its rounding are written once (as diffusers' ``VaeImageProcessor`` keeps normalise
and denormalise in one home). They work on tensors of any layout; the callers own the layout.

    >>> import torch
    >>> x = to_unit(torch.tensor([0, 255], dtype=torch.uint8))
    >>> x.tolist()
    [-1.0, 1.0]
    >>> from_unit(torch.tensor([-2.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
"""
from __future__ import annotations

import torch


def to_unit(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (or any integer) pixels in 0..255 -> float32 in [-1, 1], same shape and device."""
    return pixels.to(torch.float32).div_(127.5).sub_(1.0)


def from_unit(values: torch.Tensor) -> torch.Tensor:
    """Floats in [-1, 1] -> uint8 pixels, same shape and device; out-of-range values are clamped,
    then rounded to the nearest level (0.0 -> 128, as (0 + 1) * 127.5 = 127.5 rounds to even)."""
    return ((values.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round_().to(torch.uint8)
