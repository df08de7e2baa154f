"""pix2pixHD's discriminator feature-matching loss."""
from __future__ import annotations

from typing import List, Sequence, Union

import torch
from torch import Tensor, nn

from translate.losses.precision import at_least_fp32
from translate.registry import LOSSES

Features = Union[Sequence[Tensor], Sequence[Sequence[Tensor]]]

# pix2pixHD weights each of its D's n_layers + 1 = 4 intermediate features (n_layers=3)
# by 4 / (n_layers + 1) = 1; keeping the 4 makes the loss's scale independent of depth.
FEATURE_WEIGHT_TOTAL = 4.0


def _per_scale(features: Features) -> List[Sequence[Tensor]]:
    # A flat list of tensors is a single-scale discriminator's output.
    if len(features) and isinstance(features[0], Tensor):
        return [features]  # type: ignore[list-item]
    return list(features)  # type: ignore[arg-type]


def feature_matching_loss(real_features: Features, fake_features: Features) -> Tensor:
    """pix2pixHD feature matching; see :class:`FeatureMatchingLoss` for the formula."""
    real_scales, fake_scales = _per_scale(real_features), _per_scale(fake_features)
    if len(real_scales) != len(fake_scales) or not real_scales:
        raise ValueError(
            f"need the same non-zero number of scales; got {len(real_scales)} real "
            f"and {len(fake_scales)} fake"
        )
    num_scales = len(real_scales)
    total = fake_scales[0][0].new_zeros((), dtype=torch.float32)
    for real, fake in zip(real_scales, fake_scales):
        if len(real) != len(fake):
            raise ValueError(f"{len(real)} real but {len(fake)} fake outputs in one scale")
        num_features = len(fake) - 1  # the last element is the prediction, not a feature
        if num_features < 1:
            raise ValueError(
                "feature matching needs intermediate features: each scale must be "
                "[feature_1, ..., feature_n, prediction] with n >= 1"
            )
        weight = (1.0 / num_scales) * (FEATURE_WEIGHT_TOTAL / num_features)
        for r, f in zip(real[:-1], fake[:-1]):
            total = total + weight * (at_least_fp32(f) - at_least_fp32(r.detach())).abs().mean()
    return total


@LOSSES.register("feature_matching")
class FeatureMatchingLoss(nn.Module):
    """L1 between discriminator features of real and fake images (pix2pixHD).

    For ``S`` scales, where scale ``s`` yields ``F_s`` intermediate features
    ``D_s^(1..F_s)`` followed by its prediction::

        loss = sum_s sum_{i=1..F_s} (1 / S) * (4 / F_s) * mean|D_s^(i)(fake) - D_s^(i)(real)|

    i.e. 4 times the mean over scales of the mean over layers of the per-layer L1. In
    pix2pixHD's notation ``F_s = n_layers_D + 1`` (4 for its default 3-layer D, so every
    layer weighs 1 per scale). Real features are detached: this term trains the
    generator only. The prediction (last element of each scale) is excluded.

    Shapes: ``real_features`` and ``fake_features`` are ``list[list[Tensor]]`` (one
    inner list per scale, the discriminator's prediction last); a flat ``list[Tensor]``
    is read as one scale. Returns a float32 scalar.

    Example:
        >>> feats = [[torch.ones(1, 8, 4, 4), torch.ones(1, 1, 2, 2)]]
        >>> FeatureMatchingLoss()(feats, feats)
        tensor(0.)
    """

    def forward(self, real_features: Features, fake_features: Features) -> Tensor:
        return feature_matching_loss(real_features, fake_features)
