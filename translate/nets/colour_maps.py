"""Global affine colour maps ``y = W x + b`` fitted to images: where a residual generator starts
(nets/generators.ResidualOutput) and the quality benchmark's ``colour_map`` baseline.

Images are N x C x H x W tensors on one scale (the generators' [-1, 1]); every pixel is a sample.
Both fits are closed forms of a few lines, written here rather than taken from a library: kornia
and scikit-image offer histogram matching per channel (not an affine map a 1x1 convolution can
hold), and the fits must run on torch tensors inside training.
"""
from __future__ import annotations

from typing import Tuple

import torch


def _pixels(images: torch.Tensor) -> torch.Tensor:
    """N x C x H x W -> (N*H*W) x C in float64."""
    return images.detach().double().permute(0, 2, 3, 1).reshape(-1, images.shape[1])


def least_squares_map(inputs: torch.Tensor, targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(W, b)`` minimising the squared error of ``W input + b`` against ``targets``, pixel by
    pixel: the best colour map for example *pairs* (same shapes, aligned)."""
    x, y = _pixels(inputs), _pixels(targets)
    design = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
    solution = torch.linalg.lstsq(design, y).solution  # (C + 1) x C
    c = x.shape[1]
    return solution[:c].T, solution[c]


def transport_map(inputs: torch.Tensor, targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(W, b)`` carrying the colour distribution of ``inputs`` onto that of ``targets`` (any images
    of each domain, not pairs): the optimal-transport (Monge) map between the Gaussians fitted to
    their pixels, the linear colour transfer of Pitie & Kokaram (2007). ``W`` is symmetric, and the
    map from targets back to inputs is its inverse."""
    x, y = _pixels(inputs), _pixels(targets)
    cov_x, cov_y = _regularised_cov(x), _regularised_cov(y)
    root_x, inverse_root_x = _spd_power(cov_x, 0.5), _spd_power(cov_x, -0.5)
    weight = inverse_root_x @ _spd_power(root_x @ cov_y @ root_x, 0.5) @ inverse_root_x
    return weight, y.mean(0) - weight @ x.mean(0)


def apply_map(images: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``W x + b`` at every pixel of N x C x H x W ``images`` (no clamping), in their dtype."""
    return torch.nn.functional.conv2d(images, weight.to(images.dtype)[:, :, None, None], bias.to(images.dtype))


def _regularised_cov(pixels: torch.Tensor) -> torch.Tensor:
    """Covariance of N x C pixels, lifted by a small share of its mean variance: a grey image has
    no chroma variance, and the transport map must not divide by zero there."""
    cov = torch.cov(pixels.T).reshape(pixels.shape[1], pixels.shape[1])
    lift = 1e-2 * cov.diagonal().mean() + 1e-6
    return cov + lift * torch.eye(cov.shape[0], dtype=cov.dtype)


def _spd_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """``matrix ** power`` for a symmetric positive definite matrix, by its eigendecomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(1e-12) ** power) @ vectors.T
