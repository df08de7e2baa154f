"""Drawing corresponding A/B pairs from a generative (CoGAN) generator into one grid image.

Each cell of the grid is one noise vector z rendered in both domains, ``G_A(z) | G_B(z)``, so
the grid shows what the coupled generators learnt to put in correspondence. The noise comes
from a private seeded generator: the same seed gives the same grid.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn

from translate.data import to_image
from translate.devices import autocast
from translate.nets.contract import Generator

GAP = 2  # pixels between cells; A and B of a pair touch, so the pairing reads at a glance
BACKGROUND = 255


def pair_grid(a: torch.Tensor, b: torch.Tensor, columns: int) -> np.ndarray:
    """``N x C x H x W`` A and B images in [-1, 1] -> one HxWx3 uint8 grid of ``A|B`` cells."""

    def rgb(t: torch.Tensor) -> np.ndarray:
        image = to_image(t)
        return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image

    n, h, w = a.shape[0], a.shape[-2], a.shape[-1]
    rows = math.ceil(n / columns)
    cell_w = 2 * w + GAP
    grid = np.full((rows * (h + GAP) - GAP, columns * cell_w - GAP, 3), BACKGROUND, np.uint8)
    for i in range(n):
        y, x = (i // columns) * (h + GAP), (i % columns) * cell_w
        grid[y:y + h, x:x + w] = rgb(a[i])
        grid[y:y + h, x + w:x + 2 * w] = rgb(b[i])
    return grid


def can_sample(net: Generator) -> bool:
    """Whether ``net`` declares that it draws images from noise (CoGAN's inverter does)."""
    return type(net).supports_sampling


def sample_grid(net: nn.Module, n: int, seed: int = 0, columns: Optional[int] = None,
                device: torch.device = torch.device("cpu"), dtype: Optional[torch.dtype] = None) -> np.ndarray:
    """``n`` seeded A|B pairs from a sampling generator (``CoGANInverter``), as one grid image."""
    net = net.to(device).eval()
    rng = torch.Generator(device=device).manual_seed(seed)
    z = torch.randn(n, net.generator.latent_dim, generator=rng, device=device)
    with torch.inference_mode(), autocast(device, dtype):
        a, b = net.sample(z)
    return pair_grid(a.float().cpu(), b.float().cpu(), columns or math.ceil(math.sqrt(n)))
