"""Anti-aliased resampling with fixed binomial filters (Zhang 2019, "Making convolutional networks
shift-invariant again"), as CUT's generators use it.

A stride-2 conv samples before it smooths, so a one-pixel shift of the input can change its output
completely (aliasing). Blurring first with a small binomial filter, and upsampling through one,
keeps the network closer to shift-equivariant. The filters are constants, not weights: they live
in non-persistent buffers, so the toolkit's own state dicts hold only learned parameters (a
published CUT file's ``filt`` entries are checked and dropped by the importer instead).

Both modules act on each channel separately (a depthwise conv), take ``B x C x H x W`` and keep
``C``.
"""
from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BlurDownsample", "BlurUpsample", "binomial_filter"]


def binomial_filter(taps: int) -> torch.Tensor:
    """The ``taps x taps`` filter ``b b^T / sum(b)^2`` with ``b`` the binomial row of that length
    (3: ``[1, 2, 1]``, 4: ``[1, 3, 3, 1]``): a discrete Gaussian whose weights sum to 1."""
    row = torch.tensor([math.comb(taps - 1, k) for k in range(taps)], dtype=torch.float32)
    return torch.outer(row, row) / row.sum() ** 2


def _depthwise(channels: int, kernel: torch.Tensor) -> torch.Tensor:
    # One copy per channel: weight (C, 1, k, k) for a conv with groups=C.
    return kernel.expand(channels, 1, *kernel.shape).clone()


class BlurDownsample(nn.Module):
    """Blur, then keep every second pixel ("BlurPool")::

        y = conv2d(reflect_pad(x, 1), F, stride=2, groups=C),   F = b b^T / 16,  b = [1, 2, 1]

    ``H x W -> ceil(H/2) x ceil(W/2)``, the size a 3x3 stride-2 conv with padding 1 gives, so it
    can replace one. A constant image stays the same constant (the weights sum to 1 and reflection
    adds no new values).
    """

    filter: torch.Tensor

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filter", _depthwise(channels, binomial_filter(3)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # .to: a constant filter follows the input's dtype (a bf16 input outside autocast).
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filter.to(x.dtype), stride=2,
                        groups=self.filter.shape[0])


class BlurUpsample(nn.Module):
    """Double the size through a fixed binomial filter::

        y = conv_transpose2d(replicate_pad(x, 1), 4 F, stride=2, padding=3, groups=C),
        F = b b^T / 64,  b = [1, 3, 3, 1]

    ``H x W -> 2H x 2W``. Stride 2 puts a zero between input pixels; ``4 F`` (the 4 makes up for
    the zeros) then gives every output pixel 3/4 of its nearer and 1/4 of its farther input
    neighbour along each axis, which is bilinear x2 upsampling with half-pixel centres; the
    replicate padding makes the borders repeat the edge pixel, as ``F.interpolate(...,
    mode="bilinear", align_corners=False)`` does. ``padding=3`` crops the transposed conv's full
    output ``2H + 6`` to ``2H`` (CUT writes it as ``padding=2`` plus a crop of one pixel a side).
    """

    filter: torch.Tensor

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filter", _depthwise(channels, 4 * binomial_filter(4)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.filter.to(x.dtype), stride=2,
                                  padding=3, groups=self.filter.shape[0])

