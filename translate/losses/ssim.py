"""Structural-similarity loss, 1 - SSIM, on images in [-1, 1]."""
from __future__ import annotations

import kornia
import torch
from torch import Tensor, nn

from translate.errors import InvalidSettingError
from translate.losses.precision import at_least_fp32
from translate.registry import LOSSES


def ssim_loss(pred: Tensor, target: Tensor, window_size: int = 11) -> Tensor:
    """``1 - mean(SSIM(pred, target))`` for images in [-1, 1]; see :class:`SSIMLoss`."""
    # The Gaussian-window convolutions of SSIM are not autocast-safe: in bf16 the
    # variance terms (E[x^2] - E[x]^2) cancel catastrophically, so run in float32.
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred01 = (at_least_fp32(pred) + 1.0) / 2.0
        target01 = (at_least_fp32(target) + 1.0) / 2.0
        ssim_map = kornia.metrics.ssim(pred01, target01, window_size, max_val=1.0)
        return 1.0 - ssim_map.mean()


@LOSSES.register("ssim")
class SSIMLoss(nn.Module):
    """Structural dissimilarity 1 - SSIM(pred, target) over a Gaussian window (kornia).

    Images in [-1, 1] are mapped to [0, 1] (``(x + 1) / 2``) and compared with
    ``kornia.metrics.ssim`` (Gaussian window, sigma 1.5, ``C1 = (0.01)^2``,
    ``C2 = (0.03)^2``)::

        loss = 1 - mean over B, C, H, W of SSIM_map(pred01, target01)

    Note this is ``1 - SSIM``, in [0, 2] and 0 for identical images; kornia's own
    ``kornia.losses.ssim_loss`` returns ``(1 - SSIM) / 2``, half of this value.

    Args:
        window_size: side of the Gaussian window, odd.

    Shapes: ``pred``, ``target`` ``BxCxHxW`` in [-1, 1]; returns a float32 scalar.

    Example:
        >>> x = torch.rand(1, 3, 32, 32) * 2 - 1
        >>> float(SSIMLoss()(x, x)) < 1e-4
        True
    """

    def __init__(self, window_size: int = 11):
        super().__init__()
        if window_size < 1 or window_size % 2 == 0:
            raise InvalidSettingError(f"window_size must be a positive odd number, got {window_size}")
        self.window_size = window_size

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return ssim_loss(pred, target, self.window_size)

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}"
