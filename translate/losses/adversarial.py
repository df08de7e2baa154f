"""Adversarial (GAN) objectives and the WGAN-GP gradient penalty.

Every objective accepts a discriminator output that is either one Tensor or a
list with one entry per scale (multi-scale discriminators such as pix2pixHD's).
Per-scale losses are SUMMED, as pix2pixHD does, so adding a scale adds a term
rather than diluting the others. A scale entry may itself be a list of
intermediate features whose LAST element is the prediction (the shape a
discriminator returns when feature matching is on); only that last element is
scored here, the features belong to :mod:`translate.losses.feature_matching`.

Losses are computed in float32 so they stay correct under bf16/fp16 autocast.
"""
from __future__ import annotations

from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.losses.precision import at_least_fp32
from translate.registry import LOSSES

Predictions = Union[Tensor, Sequence[Union[Tensor, Sequence[Tensor]]]]


def as_scale_list(pred: Predictions) -> List[Tensor]:
    """One float32 prediction per scale, from a Tensor or a (nested) list of them."""
    if isinstance(pred, Tensor):
        return [at_least_fp32(pred)]
    scales = []
    for scale in pred:
        # A list per scale is [feature_1, ..., feature_n, prediction].
        scales.append(at_least_fp32(scale if isinstance(scale, Tensor) else scale[-1]))
    if not scales:
        raise ValueError("discriminator output is an empty list")
    return scales


# --- per-scale objectives; each takes float32 tensors and returns a scalar -------------


def _bce(pred: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(pred, torch.full_like(pred, target))


def _mse(pred: Tensor, target: float) -> Tensor:
    return F.mse_loss(pred, torch.full_like(pred, target))


class _Mode(NamedTuple):
    generator: Callable[[Tensor], Tensor]
    discriminator: Callable[[Tensor, Tensor], Tensor]
    needs_gradient_penalty: bool


# The 0.5 on vanilla/lsgan discriminator terms follows pix2pix/CycleGAN, which halve the
# discriminator objective to slow it relative to the generator.
ADVERSARIAL_MODES: Dict[str, _Mode] = {
    "vanilla": _Mode(
        generator=lambda fake: _bce(fake, 1.0),
        discriminator=lambda real, fake: 0.5 * (_bce(real, 1.0) + _bce(fake, 0.0)),
        needs_gradient_penalty=False,
    ),
    "lsgan": _Mode(
        generator=lambda fake: _mse(fake, 1.0),
        discriminator=lambda real, fake: 0.5 * (_mse(real, 1.0) + _mse(fake, 0.0)),
        needs_gradient_penalty=False,
    ),
    # The critic minimises E[D(fake)] - E[D(real)]; without the gradient penalty it is
    # unconstrained, hence needs_gradient_penalty.
    "wgangp": _Mode(
        generator=lambda fake: -fake.mean(),
        discriminator=lambda real, fake: fake.mean() - real.mean(),
        needs_gradient_penalty=True,
    ),
    "hinge": _Mode(
        generator=lambda fake: -fake.mean(),
        discriminator=lambda real, fake: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
        needs_gradient_penalty=False,
    ),
}


@LOSSES.register("adversarial")
class AdversarialLoss(nn.Module):
    """GAN objective for generator and discriminator: vanilla, lsgan, wgangp or hinge.

    With ``D`` the discriminator's raw output (logits / critic scores), summed over scales:

    ============  ==================================  ==============================================
    mode          generator_loss(fake)                discriminator_loss(real, fake)
    ============  ==================================  ==============================================
    ``vanilla``   BCE(D(fake), 1)                     0.5 * (BCE(D(real), 1) + BCE(D(fake), 0))
    ``lsgan``     mean((D(fake) - 1)^2)               0.5 * (mean((D(real)-1)^2) + mean(D(fake)^2))
    ``wgangp``    -mean(D(fake))                      mean(D(fake)) - mean(D(real))  (+ penalty)
    ``hinge``     -mean(D(fake))                      mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))
    ============  ==================================  ==============================================

    BCE is binary cross-entropy with logits. For ``wgangp`` the training step must add
    :func:`gradient_penalty`; ``needs_gradient_penalty`` tells it so.

    Shapes: each prediction is any shape (``Bx1xHxW`` patches, ``Bx1`` scores) or a list
    of them, one per scale; real and fake lists must have the same length.

    Example:
        >>> loss = AdversarialLoss("hinge")
        >>> loss.discriminator_loss(torch.ones(2, 1, 4, 4), -torch.ones(2, 1, 4, 4))
        tensor(0.)
    """

    def __init__(self, mode: str = "lsgan"):
        super().__init__()
        if mode not in ADVERSARIAL_MODES:
            raise ValueError(
                f"unknown adversarial mode {mode!r}; valid modes: {', '.join(ADVERSARIAL_MODES)}"
            )
        self.mode = mode
        self._objective = ADVERSARIAL_MODES[mode]
        self.needs_gradient_penalty = self._objective.needs_gradient_penalty

    def generator_loss(self, pred_fake: Predictions) -> Tensor:
        """Loss the generator minimises, given the discriminator's output on fakes."""
        return sum(self._objective.generator(p) for p in as_scale_list(pred_fake))

    def discriminator_loss(self, pred_real: Predictions, pred_fake: Predictions) -> Tensor:
        """Loss the discriminator minimises (fakes should be detached by the caller)."""
        real, fake = as_scale_list(pred_real), as_scale_list(pred_fake)
        if len(real) != len(fake):
            raise ValueError(f"{len(real)} real scales but {len(fake)} fake scales")
        return sum(self._objective.discriminator(r, f) for r, f in zip(real, fake))

    def judge(self, discriminator, real: Tensor, fake: Tensor, gp_weight: float = 10.0) -> Tuple[Tensor, Optional[Tensor]]:
        """The discriminator's whole objective on ``real`` vs ``fake``: ``(loss, penalty)``.

        ``loss`` already includes the gradient penalty when the mode needs one (wgangp);
        ``penalty`` is returned separately (or None) so callers can log it.
        """
        fake = fake.to(real.dtype)
        loss = self.discriminator_loss(discriminator(real), discriminator(fake))
        if not self.needs_gradient_penalty:
            return loss, None
        penalty = gradient_penalty(discriminator, real, fake, weight=gp_weight)
        return loss + penalty, penalty

    def forward(self, pred_fake: Predictions) -> Tensor:
        """Same as :meth:`generator_loss`, so the module can be called like other losses."""
        return self.generator_loss(pred_fake)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def gradient_penalty(
    discriminator: Callable[[Tensor], Predictions],
    real: Tensor,
    fake: Tensor,
    weight: float = 10.0,
) -> Tensor:
    """WGAN-GP penalty ``weight * mean_i((||grad_x D(x_i)||_2 - 1)^2)`` (Gulrajani et al. 2017).

    ``x_i = a_i * real_i + (1 - a_i) * fake_i`` with ``a_i ~ U[0, 1]`` drawn per sample;
    ``D(x)`` is the critic output summed over all positions and scales, so for a
    PatchGAN the gradient is that of the summed patch scores. The graph is kept
    (``create_graph=True``) so the penalty can be back-propagated into the critic.

    Always computed in float32 with autocast disabled: the squared-gradient term
    overflows or loses all precision in fp16/bf16.

    Shapes: ``real`` and ``fake`` are ``BxCxHxW`` (any ``Bx...``); returns a scalar.
    """
    with torch.autocast(device_type=real.device.type, enabled=False):
        real = at_least_fp32(real.detach())
        fake = at_least_fp32(fake.detach())
        alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device)
        mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
        score = sum(p.sum() for p in as_scale_list(discriminator(mixed)))
        (grad,) = torch.autograd.grad(score, mixed, create_graph=True)
        # eps inside the sqrt keeps the norm differentiable when a gradient is exactly 0
        norm = torch.sqrt(grad.flatten(1).pow(2).sum(dim=1) + 1e-12)
        return weight * (norm - 1.0).pow(2).mean()
