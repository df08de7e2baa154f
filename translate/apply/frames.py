"""uint8 frames in, translated uint8 frames out: how the video pipeline puts pixels through a generator.

Frames travel to the device as uint8 and become floats there: a quarter of the bytes
over PCIe, from pinned host memory so the copy is asynchronous on CUDA. Whole frame
or tiles is decided by ``translate.apply.tiling.TilingNet`` (pass one as ``net``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from translate.apply.images import translate_tensor


@dataclass
class FrameTranslator:
    """Translate batches of same-size RGB uint8 frames (each H x W x 3) with ``net`` on ``device``."""

    net: nn.Module
    device: torch.device
    dtype: Optional[torch.dtype] = None  # autocast dtype; None = fp32
    in_channels: int = 3

    def __post_init__(self) -> None:
        self.net = self.net.to(self.device).eval()
        self.multiple = int(getattr(self.net, "size_multiple", 1))

    def to_device(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """N same-size HxWx3 uint8 frames -> NCHW float in [-1, 1] on the device (uint8 over the bus)."""
        batch = torch.from_numpy(np.stack(frames))
        if self.device.type == "cuda":
            batch = batch.pin_memory().to(self.device, non_blocking=True)
        # contiguous(): keep NCHW; a permuted NHWC tensor would run the network channels_last.
        x = batch.permute(0, 3, 1, 2).contiguous().float().div_(127.5).sub_(1.0)
        if self.in_channels == 1 and x.shape[1] == 3:
            x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]  # luma, as OpenCV's RGB2GRAY
        return x

    @staticmethod
    def to_frames(y: torch.Tensor) -> np.ndarray:
        """NCHW in [-1, 1] -> N x H x W x 3 uint8 on the host (grey repeated to RGB for the encoder)."""
        y = ((y.clamp(-1.0, 1.0) + 1.0) * 127.5).round_().to(torch.uint8)
        if y.shape[1] == 1:
            y = y.expand(-1, 3, -1, -1)
        return y.permute(0, 2, 3, 1).contiguous().cpu().numpy()

    def __call__(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        x = self.to_device(frames)
        return list(self.to_frames(translate_tensor(self.net, x, self.multiple, self.dtype)))
