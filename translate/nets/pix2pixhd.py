"""pix2pixHD generators (Wang et al. 2018): the coarse global generator and the local enhancer.

``pix2pixhd_global``: 7x7 stem, ``n_downsampling`` stride-2 convs, ``n_blocks`` residual blocks,
mirrored transposed-conv upsamplings, 7x7 head with tanh (defaults: ngf 64, 4 downsamplings,
9 blocks, instance norm). ``pix2pixhd_local``: the global generator without its head, run on the
input downsampled ``n_enhancers`` times; each enhancer (finest last) encodes its own scale of the
input with a stem and one stride-2 conv, adds the coarser result, refines it with
``n_blocks_local`` residual blocks and upsamples it 2x; the last one ends in the 7x7 head.

Parameter ORDER and SHAPES are those of pix2pixHD's ``GlobalGenerator`` / ``LocalEnhancer``
(``models/networks.py``): every conv has a bias whatever the norm, instance norm has no
parameters, and the local enhancer's parameters come in the order ``model`` (global trunk),
``model1_1``, ``model1_2``, ``model2_1``, ... So the i-th tensor of our ``state_dict()`` is the
i-th of a published checkpoint and importing one is a key rename. Module names are ours.

``ngf`` means what it means in pix2pixHD: the width of the first layer of the network as a
whole, so the global trunk inside a local enhancer is ``ngf * 2**n_enhancers`` wide (a local
generator with ngf 32 wraps a global generator with ngf 64).

Both declare ``supports_gradient_checkpointing``: setting ``gradient_checkpointing = True`` recomputes
each stage's activations in the backward pass instead of keeping them: less memory for
high-resolution training, ~30% more compute. It only acts while gradients are being recorded. The
global generator declares the feature layers of a ResNet (``input``, ``stem``, ``down0`` ...,
``block0`` ...); the local enhancer, whose encoder spans several scales, declares none.
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.contract import Generator, Stage, layer_names, register_generator, resnet_stages
from translate.nets.layers import norm_layer, padding_layer, run_stages


def _conv_norm_relu(conv: nn.Module, width: int, norm: str) -> List[nn.Module]:
    return [conv, norm_layer(norm)(width), nn.ReLU()]


def _stem(in_channels: int, width: int, norm: str) -> nn.Sequential:
    # pix2pixHD keeps the bias even before batch norm; so do we, for identical parameter lists.
    return nn.Sequential(nn.ReflectionPad2d(3), *_conv_norm_relu(nn.Conv2d(in_channels, width, 7), width, norm))


def _down(width: int, norm: str) -> nn.Sequential:
    """Halve the resolution, double the width."""
    return nn.Sequential(*_conv_norm_relu(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), 2 * width, norm))


def _up(width: int, norm: str) -> nn.Sequential:
    """Double the resolution, halve the width (output_padding=1 makes it exactly 2x)."""
    conv = nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1)
    return nn.Sequential(*_conv_norm_relu(conv, width // 2, norm))


def _head(width: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh())


class HDResnetBlock(nn.Module):
    """``x + body(x)``, body = pad, conv3x3, norm, ReLU, pad, conv3x3, norm (biases always on)."""

    def __init__(self, width: int, norm: str, padding: str):
        super().__init__()
        layers: List[nn.Module] = []
        for second in (False, True):
            pad = padding_layer(padding, 1)
            if pad is not None:
                layers.append(pad)
            layers += [nn.Conv2d(width, width, 3, padding=0 if pad is not None else 1), norm_layer(norm)(width)]
            if not second:
                layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class GlobalTrunk(nn.Module):
    """The global generator up to (not including) its 7x7 head: output is ``ngf`` wide."""

    def __init__(self, in_channels: int, ngf: int, n_downsampling: int, n_blocks: int, norm: str, padding: str):
        super().__init__()
        if min(in_channels, ngf) < 1 or n_downsampling < 0 or n_blocks < 0:
            raise InvalidSettingError(
                f"need in_channels, ngf >= 1 and n_downsampling, n_blocks >= 0; got {in_channels}, {ngf}, "
                f"{n_downsampling}, {n_blocks}"
            )
        padding_layer(padding, 1)  # fail on a bad name even when n_blocks == 0
        bottom = ngf * 2**n_downsampling
        self.stem = _stem(in_channels, ngf, norm)
        self.down = nn.Sequential(*(_down(ngf * 2**i, norm) for i in range(n_downsampling)))
        self.blocks = nn.Sequential(*(HDResnetBlock(bottom, norm, padding) for _ in range(n_blocks)))
        self.up = nn.Sequential(*(_up(ngf * 2**i, norm) for i in range(n_downsampling, 0, -1)))
        self.width = ngf

    def stages(self) -> List[nn.Module]:
        return [self.stem, *self.down, *self.blocks, *self.up]


class GlobalGenerator(Generator):
    """pix2pixHD's coarse generator G1: trunk + 7x7 head; sizes a multiple of 2**n_downsampling."""

    supports_gradient_checkpointing = True

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_downsampling: int = 4,
                 n_blocks: int = 9, norm: str = "instance", padding: str = "reflect"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.trunk = GlobalTrunk(in_channels, ngf, n_downsampling, n_blocks, norm, padding)
        self.head = _head(ngf, out_channels)
        self.size_multiple = 2**n_downsampling
        self.feature_layers = layer_names(self.encoder_stages())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_stages([*self.trunk.stages(), self.head], x, self.gradient_checkpointing)

    def encoder_stages(self) -> List[Stage]:
        return resnet_stages(self.trunk.stem, self.trunk.down, self.trunk.blocks)


class Enhancer(nn.Module):
    """One local enhancer G2 at one scale: ``up(down(x_scale) + coarser)``."""

    def __init__(self, in_channels: int, width: int, n_blocks: int, norm: str, padding: str):
        super().__init__()
        # Same order as pix2pixHD's model{n}_1 (stem, stride-2 conv) then model{n}_2 (blocks, up).
        self.stem = _stem(in_channels, width, norm)
        self.down = _down(width, norm)
        self.blocks = nn.Sequential(*(HDResnetBlock(2 * width, norm, padding) for _ in range(n_blocks)))
        self.up = _up(2 * width, norm)

    def forward(self, x: torch.Tensor, coarser: torch.Tensor, checkpointed: bool) -> torch.Tensor:
        features = run_stages([self.stem, self.down], x, checkpointed)
        return run_stages([*self.blocks, self.up], features + coarser, checkpointed)


class LocalEnhancer(Generator):
    """pix2pixHD's G = {G1, G2}: a global trunk on the downsampled input, refined by enhancers.

    Sizes must be a multiple of ``2**(n_downsampling + n_enhancers)``: the input is halved
    ``n_enhancers`` times, then the trunk halves it ``n_downsampling`` more.
    """

    supports_gradient_checkpointing = True

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 32, n_downsampling: int = 4,
                 n_blocks: int = 9, n_enhancers: int = 1, n_blocks_local: int = 3, norm: str = "instance",
                 padding: str = "reflect"):
        super().__init__()
        if n_enhancers < 1 or n_blocks_local < 0:
            raise InvalidSettingError(f"need n_enhancers >= 1 and n_blocks_local >= 0; got {n_enhancers}, {n_blocks_local}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.n_enhancers = n_enhancers
        self.global_trunk = GlobalTrunk(in_channels, ngf * 2**n_enhancers, n_downsampling, n_blocks, norm, padding)
        # Coarsest enhancer first (pix2pixHD's model1_*), each half as wide as the one before.
        self.enhancers = nn.ModuleList(
            Enhancer(in_channels, ngf * 2 ** (n_enhancers - n), n_blocks_local, norm, padding)
            for n in range(1, n_enhancers + 1)
        )
        self.head = _head(ngf, out_channels)  # registered last: pix2pixHD's last model{n}_2 ends with it
        # The same pooling as the multi-scale discriminator: borders average real pixels only.
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.size_multiple = 2 ** (n_downsampling + n_enhancers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pyramid = [x]
        for _ in range(self.n_enhancers):
            pyramid.append(self.downsample(pyramid[-1]))
        y = run_stages(self.global_trunk.stages(), pyramid[-1], self.gradient_checkpointing)
        for enhancer, scale_input in zip(self.enhancers, reversed(pyramid[:-1])):
            y = enhancer(scale_input, y, self.gradient_checkpointing)
        return run_stages([self.head], y, self.gradient_checkpointing)

    def load_global(self, global_generator: GlobalGenerator) -> None:
        """Copy a trained global generator's trunk in (its head is dropped, as in pix2pixHD).

        Raises ValueError naming the mismatch when the global generator's widths or depth differ
        (its ngf must be this network's ngf * 2**n_enhancers).
        """
        source = global_generator.trunk.state_dict()
        target = self.global_trunk.state_dict()
        bad = [k for k in target if k not in source or source[k].shape != target[k].shape]
        if bad or len(source) != len(target):
            raise InvalidSettingError(
                f"global generator does not fit this local enhancer's trunk (first mismatch: "
                f"{bad[0] if bad else 'parameter count'}); its ngf must be {self.global_trunk.width} and "
                f"n_downsampling/n_blocks/norm the same"
            )
        self.global_trunk.load_state_dict(source)


register_generator("pix2pixhd_global", GlobalGenerator, """pix2pixHD global generator G1 (ngf 64, 4 downsamplings, 9 blocks); sizes a multiple of 2**n_downsampling.

    Options meant for other generators (``dropout``, ``n_enhancers`` ...) are accepted and ignored.""")
register_generator("pix2pixhd_local", LocalEnhancer, """pix2pixHD local enhancer G = {G1, G2} (ngf 32, 1-2 enhancers of 3 blocks); sizes a multiple of 2**(n_downsampling+n_enhancers).

    ``ngf`` is the finest enhancer's width; the wrapped global trunk is ``ngf * 2**n_enhancers`` wide.""")
