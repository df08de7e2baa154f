"""Losses: one small nn.Module per objective, each registered in ``LOSSES``.

Importing this package registers every loss, so ``build_loss("perceptual")`` and
``translate models`` see the whole zoo. All losses return float32 scalars, also
under bf16/fp16 autocast.

Registered names: ``adversarial``, ``l1``, ``mse``, ``masked_l1``, ``ssim``,
``perceptual``, ``feature_matching``, ``patchnce`` (CUT's contrastive term). CycleGAN's cycle and identity terms are
``l1`` (or ``mse``) applied to the relevant pairs.
"""
from translate.registry import LOSSES

from translate.losses.adversarial import (
    ADVERSARIAL_MODES,
    AdversarialLoss,
    as_scale_list,
    gradient_penalty,
)
from translate.losses.feature_matching import FeatureMatchingLoss, feature_matching_loss
from translate.losses.perceptual import (
    VGG_LAYERS,
    VGG_WEIGHT_FILES,
    PerceptualLoss,
    default_weights_path,
)
from translate.losses.reconstruction import (
    L1Loss,
    MaskedL1Loss,
    MSELoss,
    l1_loss,
    masked_l1_loss,
    mse_loss,
)
from translate.losses.patchnce import PatchNCELoss, patch_nce_loss
from translate.losses.ssim import SSIMLoss, ssim_loss

build_loss = LOSSES.build

__all__ = [
    "ADVERSARIAL_MODES",
    "AdversarialLoss",
    "FeatureMatchingLoss",
    "L1Loss",
    "LOSSES",
    "MSELoss",
    "MaskedL1Loss",
    "PatchNCELoss",
    "PerceptualLoss",
    "SSIMLoss",
    "VGG_LAYERS",
    "VGG_WEIGHT_FILES",
    "as_scale_list",
    "build_loss",
    "default_weights_path",
    "feature_matching_loss",
    "gradient_penalty",
    "l1_loss",
    "masked_l1_loss",
    "mse_loss",
    "patch_nce_loss",
    "ssim_loss",
]
