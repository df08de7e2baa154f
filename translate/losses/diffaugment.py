"""Differentiable augmentation of what the discriminator sees (DiffAugment, Zhao et al. 2020).

With few training images a discriminator memorises them and its gradients stop teaching the
generator. DiffAugment transforms *both* real and fake images before every discriminator call,
in the generator step as well as the discriminator step, with differentiable operations, so
the generator is still trained through the transform. Policies (comma-separated):

* ``color``: per image, brightness ``x + (u - 0.5)``, saturation ``(x - mean_c) * 2u + mean_c``,
  contrast ``(x - mean) * (u + 0.5) + mean`` (``u ~ U[0, 1]``, images in [-1, 1]);
* ``translation``: per image, an integer shift of up to 1/8 of each side, zeros shifted in;
* ``cutout``: per image, a square of half the side set to zero.

It lives with the losses, not with ``translate.data``: it is part of the adversarial objective
(differentiable, on device, inside the step), while the data room's augmentations run once per
sample in the loader on numpy images. ``DiffAugment.sample`` draws the random parameters and
``apply`` uses them, so one draw can transform several tensors identically (the real and fake
pairs of a conditional discriminator, which share their input half).
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch
from torch import Tensor

from translate.errors import InvalidSettingError

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5

Params = Dict[str, Tensor]


def parse_policy(text: str) -> Tuple[str, ...]:
    """``"color, translation"`` -> ``("color", "translation")``; empty text turns it off."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise InvalidSettingError(f"unknown diff_augment policy {unknown[0]!r}; valid: {', '.join(POLICIES)}")
    return names


class DiffAugment:
    """Random differentiable transforms of NCHW image batches; shapes are kept.

    >>> aug = DiffAugment("color,translation,cutout")
    >>> x = torch.rand(2, 3, 16, 16, requires_grad=True)
    >>> y = aug(x)
    >>> y.shape == x.shape
    True
    """

    def __init__(self, policy: str | Sequence[str]):
        self.policy = parse_policy(policy) if isinstance(policy, str) else tuple(policy)

    def __bool__(self) -> bool:
        return bool(self.policy)

    def sample(self, x: Tensor) -> Params:
        """Random parameters for a batch shaped like ``x`` (drawn from torch's global RNG)."""
        n, _, h, w = x.shape
        dev = x.device
        params: Params = {}
        if "color" in self.policy:
            params["brightness"] = torch.rand(n, 1, 1, 1, device=dev) - 0.5
            params["saturation"] = torch.rand(n, 1, 1, 1, device=dev) * 2
            params["contrast"] = torch.rand(n, 1, 1, 1, device=dev) + 0.5
        if "translation" in self.policy:
            sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
            params["shift_y"] = torch.randint(-sy, sy + 1, (n,), device=dev)
            params["shift_x"] = torch.randint(-sx, sx + 1, (n,), device=dev)
        if "cutout" in self.policy:
            ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
            params["cut_y"] = torch.randint(0, h + (1 - ch % 2), (n,), device=dev)
            params["cut_x"] = torch.randint(0, w + (1 - cw % 2), (n,), device=dev)
        return params

    def apply(self, x: Tensor, params: Params) -> Tensor:
        if "brightness" in params:
            x = x + params["brightness"].to(x.dtype)
            mean_c = x.mean(dim=1, keepdim=True)
            x = (x - mean_c) * params["saturation"].to(x.dtype) + mean_c
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * params["contrast"].to(x.dtype) + mean
        if "shift_y" in params:
            x = _translate(x, params["shift_y"], params["shift_x"])
        if "cut_y" in params:
            x = x * _cutout_mask(x, params["cut_y"], params["cut_x"])
        return x

    def __call__(self, *xs: Tensor) -> Tensor | Tuple[Tensor, ...]:
        """Transform each of ``xs`` with the same draw (one tensor in, one out)."""
        if not self.policy:
            return xs[0] if len(xs) == 1 else xs
        params = self.sample(xs[0])
        out = tuple(self.apply(x, params) for x in xs)
        return out[0] if len(out) == 1 else out


def _translate(x: Tensor, dy: Tensor, dx: Tensor) -> Tensor:
    """Shift each image by (dy, dx) whole pixels, zeros entering: a gather, so gradients flow."""
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1)  # source row of each output row
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1)
    valid = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).view(n, 1, h * w).expand(n, c, h * w)
    shifted = x.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    return shifted * valid.to(x.dtype)


def _cutout_mask(x: Tensor, cy: Tensor, cx: Tensor) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = (cy - ch // 2).view(n, 1, 1), (cx - cw // 2).view(n, 1, 1)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: Tensor, policy: str) -> Tensor:
    """Functional form: ``DiffAugment(policy)(x)``."""
    return DiffAugment(policy)(x)
