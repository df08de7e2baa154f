"""Batches of uint8 video frames to and from the device: the frame side of ``translate.pixels``.

Frames travel to the device as uint8 and become floats there: a quarter of the bytes over PCIe,
from pinned host memory so the copy is asynchronous on CUDA. ``translate.apply.model.Model.frames``
puts them through its network; the video pipeline takes any such ``FrameFn``.
"""
from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np
import torch

from translate.pixels import from_unit, to_unit

FrameFn = Callable[[Sequence[np.ndarray]], List[np.ndarray]]  # N HxWx3 uint8 frames in, N out


def frames_to_batch(frames: Sequence[np.ndarray], device: torch.device, in_channels: int = 3) -> torch.Tensor:
    """N same-size HxWx3 uint8 frames -> NCHW float in [-1, 1] on ``device`` (uint8 over the bus);
    a one-channel model gets luma, as OpenCV's RGB2GRAY computes it."""
    batch = torch.from_numpy(np.stack(frames))
    if device.type == "cuda":
        batch = batch.pin_memory().to(device, non_blocking=True)
    # contiguous(): keep NCHW; a permuted NHWC tensor would run the network channels_last.
    x = to_unit(batch.permute(0, 3, 1, 2).contiguous())
    if in_channels == 1 and x.shape[1] == 3:
        x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return x


def batch_to_frames(y: torch.Tensor) -> np.ndarray:
    """NCHW in [-1, 1] -> N x H x W x 3 uint8 on the host (grey repeated to RGB for the encoder)."""
    pixels = from_unit(y)
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return pixels.permute(0, 2, 3, 1).contiguous().cpu().numpy()
