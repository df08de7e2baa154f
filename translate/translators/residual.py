"""The residual output of U-Net and ResNet generators: when to use it, and where it starts.

``residual`` (a config key of every translator with a U-Net/ResNet generator) is true, false or
auto. pix2pix and CycleGAN default to auto, decided by measurement (tools/BENCHMARKS.md, quality):
- a U-Net: on. Its full-resolution skip lets it drop the photo's texture where the target has
  none: photo -> sketch +3.2 dB at equal steps, photo -> cartoon far more.
- a ResNet, paired data: on when returning the input scores better than the mean target on the
  training pairs (the translation keeps the photo: cartoon +8 dB), off otherwise: with no
  full-resolution path it cannot cancel the photo's texture (sketch -2.7 dB with it).
- unpaired data (CycleGAN): on (nothing to compare; cycle and identity terms assume a
  translation that keeps the image's structure): +10 dB on the unpaired task.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import torch

from translate.config import ConfigError

RESIDUAL_GENERATORS = ("unet", "unet_128", "unet_256", "resnet", "resnet_6blocks", "resnet_9blocks")


def residual_unsupported(generator: str, in_channels: int, out_channels: int) -> Optional[str]:
    """Why a residual output cannot be built for this generator and channels, or None when it can."""
    if generator not in RESIDUAL_GENERATORS:
        return f"needs a U-Net or ResNet generator ({', '.join(RESIDUAL_GENERATORS)}), not {generator!r}"
    if in_channels != out_channels:
        return f"needs as many output as input channels, got {in_channels} -> {out_channels}"
    return None


def residual_wanted(opts: Any, in_channels: int, out_channels: int) -> bool:
    """``residual``: true (applied, or refused in one line), false, or auto: on wherever it can be
    built (a translator's ``prepare`` decides auto from the data first; config.yaml records what
    was decided)."""
    value = opts.residual
    if isinstance(value, str) and value != "auto":
        raise ConfigError(f"config key 'residual' expects true, false or auto, got {value!r}")
    reason = residual_unsupported(opts.generator, in_channels, out_channels)
    if value is True and reason:
        raise ConfigError(f"config key 'residual' {reason} (set residual=false, or auto to use it where it fits)")
    return value is True or (value == "auto" and reason is None)


# Training items read to decide residual: auto and to start a colour map (spread over the data).
START_SAMPLES = 32


def keeps_the_input(inputs: torch.Tensor, targets: torch.Tensor) -> bool:
    """Whether returning the input scores better (lower squared error) than the per-pixel mean
    target on these pairs: the benchmark's two trivial baselines, on the training data."""
    identity = (inputs.double() - targets.double()).pow(2).mean()
    mean_target = (targets.double() - targets.double().mean(dim=0, keepdim=True)).pow(2).mean()
    return bool(identity < mean_target)


def decide_auto(value: Any, generator: str, in_channels: int, out_channels: int,
                pairs: Optional[Callable[[], Tuple[torch.Tensor, torch.Tensor]]] = None) -> Any:
    """``residual: auto`` made true or false by the rules above; other values unchanged.
    ``pairs()`` returns (inputs, targets) from the training data (None for unpaired data)."""
    if value != "auto":
        return value
    if residual_unsupported(generator, in_channels, out_channels):
        return False
    if generator.startswith("unet") or pairs is None:
        return True
    return keeps_the_input(*pairs())
