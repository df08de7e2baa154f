"""DiscoGAN's networks (Kim et al. 2017): an encoder-decoder generator and a DCGAN-style critic.

Generator (``encoder_decoder``): ``n_downs`` 4x4 stride-2 convolutions halve the image down to
a 4x4 bottleneck (64x64 input: 4 of them), then as many 4x4 stride-2 transposed convolutions
double it back; batch norm everywhere but the first and last layer, LeakyReLU 0.2 going down,
ReLU going up, tanh out (the reference ends in a sigmoid on [0, 1] images; ours are in
[-1, 1]). Widths are ``ngf * min(2**i, 8)``, as in the reference (64, 128, 256, 512). There are
no skip connections: everything the output knows passes through the bottleneck, which is
what lets DiscoGAN change shape and not only texture. The net is fully convolutional, so it
runs on any size that is a multiple of ``2**n_downs`` (``size_multiple``).

With ``bottleneck=K`` (the reference's ``extra_layers``) a 4x4 valid convolution squeezes the
4x4 map to 1x1xK and a 4x4 transposed convolution expands it back.

Discriminator (``discogan``): 4x4 stride-2 convolutions (``n_layers`` of them; 4 for 64x64)
then a 4x4 valid convolution to one logit per 4x4 window (one logit in all at the training
size). ``forward_features`` returns the activations of every block but the first (which has
no norm; the reference matches features from the second block on) with the prediction last,
which is the shape :mod:`translate.losses` expects.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional

import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.contract import Generator, Stage, layer_names
from translate.nets.discriminators import Features, SingleScaleDiscriminator, _conv
from translate.nets.layers import conv_bias, conv_padding_mode, norm_layer
from translate.registry import DISCRIMINATORS, GENERATORS

BOTTLENECK_SIDE = 4  # the encoder stops at 4x4, like the reference at 64x64


def downsamplings_for(image_size: int) -> int:
    """Stride-2 steps that take a ``image_size`` square to the 4x4 bottleneck (64 -> 4)."""
    steps = math.log2(image_size / BOTTLENECK_SIDE) if image_size > 0 else -1
    if steps < 1 or not float(steps).is_integer():
        raise InvalidSettingError(f"image_size must be a power of two >= 8, got {image_size}")
    return int(steps)


def _width(ngf: int, level: int) -> int:
    return ngf * min(2**level, 8)


class EncoderDecoderGenerator(Generator):
    """DiscoGAN generator: conv encoder to a 4x4 bottleneck, transposed-conv decoder, tanh.
    Feature layers: ``input`` and each stride-2 encoder level ``down0`` ... (after its LeakyReLU)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_downs: int = 4,
                 norm: str = "batch", dropout: bool = False, padding: str = "zero", bottleneck: int = 0):
        super().__init__()
        if min(in_channels, out_channels, ngf, n_downs) < 1 or bottleneck < 0:
            raise InvalidSettingError(f"encoder_decoder: channels, ngf and n_downs must be >= 1 and bottleneck >= 0 "
                             f"(got {in_channels}, {out_channels}, {ngf}, {n_downs}, {bottleneck})")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        pad_mode = conv_padding_mode(padding)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.size_multiple = 2**n_downs

        down: List[nn.Module] = []
        prev = in_channels
        for i in range(n_downs):
            width = _width(ngf, i)
            layers: List[nn.Module] = [nn.Conv2d(prev, width, 4, 2, 1, bias=bias or i == 0, padding_mode=pad_mode)]
            if i > 0:  # the first layer sees the image itself: no norm (DCGAN convention)
                layers.append(make_norm(width))
            layers.append(nn.LeakyReLU(0.2))
            down.append(nn.Sequential(*layers))
            prev = width
        self.encoder = nn.Sequential(*down)

        # Valid 4x4 conv: 4x4 -> 1x1 at the training size, (n - 3) on larger inputs, undone by the
        # transposed conv, so the net stays fully convolutional.
        self.bottleneck = nn.Sequential(
            nn.Conv2d(prev, bottleneck, 4, 1, 0, bias=bias), make_norm(bottleneck), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(bottleneck, prev, 4, 1, 0, bias=bias), make_norm(prev), nn.ReLU(),
        ) if bottleneck else nn.Identity()

        up: List[nn.Module] = []
        for i in reversed(range(n_downs)):
            last = i == 0
            width = out_channels if last else _width(ngf, i - 1)
            layers = [nn.ConvTranspose2d(prev, width, 4, 2, 1, bias=bias or last)]
            if last:
                layers.append(nn.Tanh())
            else:
                layers += [make_norm(width), nn.ReLU()]
                if dropout and i >= n_downs - 3:  # the innermost decoder levels, as pix2pix's U-Net
                    layers.append(nn.Dropout(0.5))
            up.append(nn.Sequential(*layers))
            prev = width
        self.decoder = nn.Sequential(*up)
        self.feature_layers = layer_names(self.encoder_stages())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.bottleneck(self.encoder(x)))

    def encoder_stages(self) -> List[Stage]:
        return [(f"down{i}", level) for i, level in enumerate(self.encoder)]


@GENERATORS.register("encoder_decoder")
def encoder_decoder(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: str = "batch",
                    dropout: bool = False, padding: str = "zero", image_size: int = 64,
                    n_downs: Optional[int] = None, bottleneck: int = 0, **kwargs: Any) -> EncoderDecoderGenerator:
    """Encoder-decoder without skips (DiscoGAN): 4x4 stride-2 convs to 4x4 and back; any power-of-two size.

    ``n_downs`` defaults to ``log2(image_size / 4)`` (4 for the paper's 64x64). Options meant
    for other generators are accepted and ignored.
    """
    return EncoderDecoderGenerator(in_channels, out_channels, ngf,
                                   n_downs if n_downs is not None else downsamplings_for(image_size),
                                   norm, dropout, padding, bottleneck)


class DiscoGANDiscriminator(SingleScaleDiscriminator):
    """DiscoGAN critic: 4x4 stride-2 convs, then a 4x4 valid conv to a logit; no sigmoid."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 4, norm: str = "batch",
                 spectral_norm: bool = False):
        if n_layers < 1:
            raise InvalidSettingError(f"n_layers must be >= 1, got {n_layers}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        blocks: List[nn.Module] = []
        prev = in_channels
        for i in range(n_layers):
            width = _width(ndf, i)
            layers = [_conv(spectral_norm, prev, width, 4, stride=2, padding=1, bias=bias or i == 0)]
            if i > 0:
                layers.append(make_norm(width))
            blocks.append(nn.Sequential(*layers, nn.LeakyReLU(0.2)))
            prev = width
        blocks.append(_conv(spectral_norm, prev, 1, 4, stride=1, padding=0))
        super().__init__(blocks)
        self.min_size = 4 * 2**n_layers  # the final valid conv needs a 4x4 map

    def forward_features(self, x: torch.Tensor) -> Features:
        if min(x.shape[-2:]) < self.min_size:
            raise InvalidSettingError(f"discogan discriminator needs images of at least {self.min_size} px, "
                             f"got {tuple(x.shape[-2:])}")
        # Skip the first block's activations: the reference matches the normalised ones only.
        return [super().forward_features(x)[0][1:]]


@DISCRIMINATORS.register("discogan")
def discogan(in_channels: int, ndf: int = 64, n_layers: int = 4, norm: str = "batch",
             spectral_norm: bool = False, **kwargs: Any) -> DiscoGANDiscriminator:
    """DiscoGAN critic: n_layers 4x4 stride-2 convs then a 4x4 valid conv; one logit per 64x64 image (n_layers=4)."""
    return DiscoGANDiscriminator(in_channels, ndf, n_layers, norm, spectral_norm)
