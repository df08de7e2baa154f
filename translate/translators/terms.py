"""Optional weighted loss terms shared by the translators (SSIM, perceptual VGG).

Terms whose weight is 0 are never built, so the VGG weights file is only needed
by runs that ask for the perceptual loss.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import torch
from torch import nn

from translate.losses import build_loss

# The losses that compare a reconstruction with its image and build without arguments: what
# cycle_loss (CycleGAN) and recon_loss (DiscoGAN) take.
RECONSTRUCTION_LOSSES = ("l1", "mse", "ssim")


class WeightedTerms(nn.Module):
    """``sum_i w_i * loss_i(pred, target)`` over the terms with non-zero weight."""

    def __init__(self, terms: List[Tuple[str, str, float, dict]]):
        super().__init__()
        self.weights: Dict[str, float] = {}
        self.losses = nn.ModuleDict()
        for label, loss_name, weight, kwargs in terms:
            if weight:
                self.losses[label] = build_loss(loss_name, **kwargs)
                self.weights[label] = weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, logs: Dict[str, torch.Tensor], suffix: str = "") -> torch.Tensor:
        total = pred.new_zeros((), dtype=torch.float32)
        for label, loss in self.losses.items():
            value = loss(pred, target) * self.weights[label]
            logs[label + suffix] = value.detach()
            total = total + value
        return total


def image_terms(opts) -> List[Tuple[str, str, float, dict]]:
    """The SSIM and perceptual terms a translator's options ask for."""
    perceptual_kwargs = {"weights_path": opts.vgg_weights} if opts.vgg_weights else {}
    return [
        ("ssim", "ssim", opts.lambda_ssim, {}),
        ("vgg", "perceptual", opts.lambda_perceptual, perceptual_kwargs),
    ]


def predictions(features: List[List[torch.Tensor]]) -> List[torch.Tensor]:
    """The final prediction map of each scale from ``forward_features`` output."""
    return [scale[-1] for scale in features]
