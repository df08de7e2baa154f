"""Discriminators: PatchGAN (pix2pix), PixelGAN and the pix2pixHD multi-scale stack.

One API for all of them, so losses need not know which one they face:

- ``forward(x)`` -> a prediction map (single-scale) or a list of maps, finest first
  (multi-scale). No sigmoid: the GAN loss decides (LSGAN, BCE-with-logits, hinge).
- ``forward_features(x)`` -> ``list[list[Tensor]]``: per scale, the activation after
  each block, the last one being that scale's prediction map. Single-scale nets return
  a one-element outer list. Feature-matching losses read these.
- ``num_scales``: length of the outer list.

PatchGAN and PixelGAN keep the reference networks' parameter order and shapes
(``NLayerDiscriminator`` / ``PixelDiscriminator`` of pytorch-CycleGAN-and-pix2pix).
"""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from translate.errors import InvalidSettingError
from translate.nets.layers import conv_bias, norm_layer
from translate.registry import DISCRIMINATORS

Features = List[List[torch.Tensor]]


def _patchgan_layout(n_layers: int) -> List[Tuple[int, int]]:
    """(kernel, stride) of every PatchGAN conv: n_layers stride-2, then two stride-1."""
    if n_layers < 1:
        raise InvalidSettingError(f"n_layers must be >= 1, got {n_layers}")
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def patchgan_receptive_field(n_layers: int) -> int:
    """Side of the input square one PatchGAN output pixel sees (70 for n_layers=3).

    Walking back from one output pixel, a conv with kernel k and stride s widens a
    window of r pixels to ``(r - 1) * s + k``.
    """
    r = 1
    for kernel, stride in reversed(_patchgan_layout(n_layers)):
        r = (r - 1) * stride + kernel
    return r


class SingleScaleDiscriminator(nn.Module):
    """A chain of blocks; every block's output is a feature, the last is the prediction."""

    num_scales = 1

    def __init__(self, blocks: Sequence[nn.Module]):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)

    def forward_features(self, x: torch.Tensor) -> Features:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return [features]


def _conv(spectral: bool, *args: Any, **kwargs: Any) -> nn.Module:
    conv = nn.Conv2d(*args, **kwargs)
    return _spectral_norm(conv) if spectral else conv


class PatchGAN(SingleScaleDiscriminator):
    """pix2pix PatchGAN: classifies each overlapping N x N patch as real or fake.

    4x4 convs with padding 1: ``n_layers`` of stride 2 (channels ndf, 2ndf, ... capped at
    8ndf), one of stride 1, then a stride-1 conv to one channel. LeakyReLU 0.2 after
    every conv but the last; no norm after the first. ``spectral_norm`` wraps every conv.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
                 spectral_norm: bool = False):
        layout = _patchgan_layout(n_layers)
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        blocks = []
        prev = in_channels
        for i, (kernel, stride) in enumerate(layout[:-1]):
            width = ndf * min(2**i, 8)
            if i == 0:  # the first conv sees the image: no norm, always a bias
                layers = [_conv(spectral_norm, prev, width, kernel, stride=stride, padding=1)]
            else:
                layers = [_conv(spectral_norm, prev, width, kernel, stride=stride, padding=1, bias=bias),
                          make_norm(width)]
            blocks.append(nn.Sequential(*layers, nn.LeakyReLU(0.2)))
            prev = width
        kernel, stride = layout[-1]
        blocks.append(_conv(spectral_norm, prev, 1, kernel, stride=stride, padding=1))
        super().__init__(blocks)
        self.receptive_field = patchgan_receptive_field(n_layers)


class PixelGAN(SingleScaleDiscriminator):
    """PixelGAN: 1x1 convs (ndf, 2*ndf, 1), so each pixel is judged on its own colour."""

    def __init__(self, in_channels: int, ndf: int = 64, norm: str = "batch", spectral_norm: bool = False):
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        blocks = [
            nn.Sequential(_conv(spectral_norm, in_channels, ndf, 1), nn.LeakyReLU(0.2)),
            nn.Sequential(_conv(spectral_norm, ndf, 2 * ndf, 1, bias=bias), make_norm(2 * ndf), nn.LeakyReLU(0.2)),
            _conv(spectral_norm, 2 * ndf, 1, 1, bias=bias),
        ]
        super().__init__(blocks)
        self.receptive_field = 1


class MultiscaleDiscriminator(nn.Module):
    """pix2pixHD: independent PatchGANs on the input and on 2x, 4x ... downsampled copies.

    Coarse scales see global structure with the same small nets; the fine scale sees
    detail. ``self.scales[0]`` judges the full-resolution input.
    """

    def __init__(self, in_channels: int, num_scales: int = 2, **patchgan_kwargs: Any):
        super().__init__()
        if num_scales < 1:
            raise InvalidSettingError(f"num_scales must be >= 1, got {num_scales}")
        self.num_scales = num_scales
        self.scales = nn.ModuleList(PatchGAN(in_channels, **patchgan_kwargs) for _ in range(num_scales))
        # count_include_pad=False: border pixels are averages of real pixels, not of zeros.
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def _inputs(self, x: torch.Tensor):
        for i, net in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            yield net, x

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [net(xi) for net, xi in self._inputs(x)]

    def forward_features(self, x: torch.Tensor) -> Features:
        return [net.forward_features(xi)[0] for net, xi in self._inputs(x)]


@DISCRIMINATORS.register("patchgan")
def patchgan(in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
             spectral_norm: bool = False, **kwargs: Any) -> PatchGAN:
    """PatchGAN (pix2pix): judges overlapping patches, 70x70 with n_layers=3; no sigmoid.

    Options meant for other discriminators (``num_scales`` ...) are accepted and ignored,
    so one config can build any member of the zoo.
    """
    return PatchGAN(in_channels, ndf, n_layers, norm, spectral_norm)


@DISCRIMINATORS.register("pixel")
def pixel(in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
          spectral_norm: bool = False, **kwargs: Any) -> PixelGAN:
    """PixelGAN (1x1 convs): judges each pixel alone; output has the input's H x W.

    ``n_layers`` and other options are accepted for a common signature and ignored.
    """
    return PixelGAN(in_channels, ndf, norm, spectral_norm)


@DISCRIMINATORS.register("multiscale")
def multiscale(in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
               spectral_norm: bool = False, num_scales: int = 2, **kwargs: Any) -> MultiscaleDiscriminator:
    """Multi-scale PatchGANs (pix2pixHD): one per 2x downsampling; returns a list, finest first."""
    return MultiscaleDiscriminator(in_channels, num_scales, ndf=ndf, n_layers=n_layers, norm=norm,
                                   spectral_norm=spectral_norm)
