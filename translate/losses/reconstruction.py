"""Pixel reconstruction losses: L1, MSE and a mask-weighted L1.

These also serve as CycleGAN's *cycle* and *identity* terms, which are not separate
losses but the same distances applied to particular pairs (A->B->A vs A, G_AB(B) vs
B); a translator picks ``"l1"`` (the paper's choice) or ``"mse"`` for them by name.

Inputs are images in [-1, 1], ``BxCxHxW``; the loss is computed in float32 so it
stays correct under bf16/fp16 autocast.
"""
from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)
from torch import Tensor, nn

from translate.errors import InvalidSettingError
from translate.losses.precision import at_least_fp32
from translate.registry import LOSSES


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``mean(|pred - target|)`` in float32."""
    return (at_least_fp32(pred) - at_least_fp32(target)).abs().mean()


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``mean((pred - target)^2)`` in float32."""
    return (at_least_fp32(pred) - at_least_fp32(target)).pow(2).mean()


def masked_l1_loss(
    pred: Tensor, target: Tensor, mask: Tensor, background_weight: float = 0.0, eps: float = 1e-8
) -> Tensor:
    """Mask-weighted mean absolute error; see :class:`MaskedL1Loss` for the formula."""
    if mask.dim() != pred.dim() or mask.shape[1] != 1 or mask.shape[2:] != pred.shape[2:]:
        raise ValueError(
            f"mask must be Bx1xHxW matching the image's HxW; got mask {tuple(mask.shape)} "
            f"for image {tuple(pred.shape)}"
        )
    weight = background_weight + (1.0 - background_weight) * at_least_fp32(mask)
    error = (at_least_fp32(pred) - at_least_fp32(target)).abs()
    # sum(w) counts pixels, not pixel-channels; multiplying by C makes an all-ones mask
    # give exactly the plain L1 mean.
    return (weight * error).sum() / (weight.expand_as(error[:, :1]).sum() * pred.shape[1] + eps)


@LOSSES.register("l1")
class L1Loss(nn.Module):
    """Mean absolute error, mean(|pred - target|); pix2pix's L1 and CycleGAN's cycle/identity term.

    ``loss = mean(|pred - target|)`` over all elements. Shapes: ``pred`` and ``target``
    ``BxCxHxW`` (any matching shape); returns a float32 scalar.

    CycleGAN's cycle loss is ``L1(G_BA(G_AB(a)), a)`` and its identity loss is
    ``L1(G_AB(b), b)``: the translator builds this loss by name and feeds those pairs.

    Example:
        >>> L1Loss()(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
        tensor(1.)
    """

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return l1_loss(pred, target)


@LOSSES.register("mse")
class MSELoss(nn.Module):
    """Mean squared error, mean((pred - target)^2); an alternative cycle/identity/reconstruction term.

    ``loss = mean((pred - target)^2)`` over all elements. Shapes: any matching shape;
    returns a float32 scalar. Usable for CycleGAN's cycle or identity pairs in place of
    L1 (smoother, but blurrier results).

    Example:
        >>> MSELoss()(torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 2.0))
        tensor(4.)
    """

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return mse_loss(pred, target)


@LOSSES.register("masked_l1")
class MaskedL1Loss(nn.Module):
    """L1 weighted by a mask, e.g. a face mask so reconstruction focuses on the face.

    With a per-pixel weight ``w = background_weight + (1 - background_weight) * mask``::

        loss = sum(w * |pred - target|) / (sum(w) * C + eps)

    i.e. the weighted mean absolute error over pixels and channels. With
    ``background_weight=0`` only the masked region counts (differences outside the mask
    are ignored); with ``background_weight=1`` it is the plain L1. This is the Face-off
    recipe: reconstruction weighted by a face mask so the model spends its capacity on
    the face rather than the background.

    Args:
        background_weight: weight of pixels where ``mask == 0``, in [0, 1].
        eps: keeps an empty mask from dividing by zero (the loss is then 0).

    Shapes: ``pred``, ``target`` ``BxCxHxW``; ``mask`` ``Bx1xHxW`` in [0, 1] (soft masks
    allowed). Returns a float32 scalar.

    Example:
        >>> mask = torch.zeros(1, 1, 4, 4); mask[..., :2, :] = 1
        >>> target = torch.zeros(1, 3, 4, 4); target[..., 2:, :] = 5  # differs only outside
        >>> MaskedL1Loss()(torch.zeros(1, 3, 4, 4), target, mask)
        tensor(0.)
    """

    def __init__(self, background_weight: float = 0.0, eps: float = 1e-8):
        super().__init__()
        if not 0.0 <= background_weight <= 1.0:
            raise InvalidSettingError(f"background_weight must be in [0, 1], got {background_weight}")
        self.background_weight = background_weight
        self.eps = eps

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        return masked_l1_loss(pred, target, mask, self.background_weight, self.eps)

    def extra_repr(self) -> str:
        return f"background_weight={self.background_weight}"
