"""Generators: the pix2pix U-Net and the CycleGAN ResNet, plus their named presets.

Both keep the parameter order and shapes of the reference networks
(``UnetGenerator`` / ``ResnetGenerator`` in pytorch-CycleGAN-and-pix2pix), so that the
values of our ``state_dict()`` and of a published checkpoint line up one to one and
importing one is a matter of renaming keys. Module names differ (ours say what a
part is); parameter-free modules (activations, padding, dropout) may sit elsewhere
because they do not appear in a state dict.

Every generator maps ``B x in_channels x H x W`` to ``B x out_channels x H x W`` in
[-1, 1] and has an int ``size_multiple``: H and W must be multiples of it (``apply``
pads images up to it).
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.antialias import BlurDownsample, BlurUpsample
from translate.nets.contract import (Generator, Stage, collect_features, layer_names, register_generator,
                                     resnet_stages)
from translate.nets.layers import conv_bias, conv_padding_mode, norm_layer, padding_layer, run_stages
from translate.nets.residual import ResidualOutput, make_residual_output

__all__ = ["ResidualOutput", "ResnetGenerator", "UnetGenerator", "zero_network_output"]


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise InvalidSettingError(f"{name} must be >= 1, got {value}")


def zero_network_output(generator: Generator) -> Generator:
    """Zero the last convolution of a residual generator's network, so that it starts exactly at
    ``M(input)``: with the usual N(0, 0.02) weights the random network adds noise of std ~0.35 to
    every pixel (PSNR ~15 dB against its own input), which the first hundreds of GAN steps spend
    removing. The zero-initialised residual branch of Goyal et al. 2017 / Fixup; gradients reach the
    rest of the network from the first update on. Generators without a residual output: unchanged."""
    if generator.residual_output() is None:
        return generator
    convs = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        convs[-1].weight.zero_()  # the layer that feeds the output (ResNet head, U-Net outermost up)
        if convs[-1].bias is not None:
            convs[-1].bias.zero_()
    return generator


# --------------------------------------------------------------------------- U-Net


class UnetLevel(nn.Module):
    """One level of the U-Net: down to the next level, through it, back up, then skip.

    ``x -> act -> down -> inner -> up -> y``; a non-outermost level returns
    ``cat([act(x), y])``. The skip carries the LeakyReLU'd input, not ``x`` itself:
    the reference applies that activation in place, so the tensor it concatenates has
    already been activated, and published U-Net weights were trained with that.
    """

    def __init__(
        self,
        in_channels: int,
        inner_channels: int,
        out_channels: int,
        inner: Optional["UnetLevel"],
        *,
        outermost: bool,
        norm: str,
        dropout: bool,
        padding: str,
    ):
        super().__init__()
        innermost = inner is None
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        self.outermost = outermost

        # The outermost level sees the raw image, so there is nothing to activate.
        self.act = nn.Identity() if outermost else nn.LeakyReLU(0.2)
        down = [
            nn.Conv2d(
                in_channels, inner_channels, 4, stride=2, padding=1, bias=bias,
                padding_mode=conv_padding_mode(padding),
            )
        ]
        if not (outermost or innermost):
            down.append(make_norm(inner_channels))
        self.down = nn.Sequential(*down)
        self.inner = inner

        # Below the innermost level there is no skip, so its up-conv sees half the channels.
        up_in = inner_channels if innermost else 2 * inner_channels
        up = [
            nn.ReLU(),
            nn.ConvTranspose2d(up_in, out_channels, 4, stride=2, padding=1, bias=bias or outermost),
        ]
        up.append(nn.Tanh() if outermost else make_norm(out_channels))
        if dropout:
            up.append(nn.Dropout(0.5))
        self.up = nn.Sequential(*up)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The way down only: what this level hands to the next one."""
        return self.down(self.act(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        y = self.down(x)
        if self.inner is not None:
            y = self.inner(y)
        y = self.up(y)
        return y if self.outermost else torch.cat([x, y], dim=1)


class UnetGenerator(Generator):
    """pix2pix U-Net: ``num_downs`` stride-2 levels with concatenating skips.

    Level ``i`` (0 = outermost) has ``ngf * min(2**i, 8)`` inner channels. Dropout, when
    on, goes where the reference puts it: levels whose input and inner width are both
    ``8 * ngf``, except the innermost. Feature layers: ``input`` and ``down0`` ... (each level's
    stride-2 conv and norm, before the next level's LeakyReLU).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        dropout: bool = False,
        padding: str = "zero",
        residual: bool = False,
        input_map: bool = False,
    ):
        super().__init__()
        _check_positive(in_channels=in_channels, out_channels=out_channels, num_downs=num_downs, ngf=ngf)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_downs = num_downs
        self.size_multiple = 2**num_downs

        widths = [ngf * min(2**i, 8) for i in range(num_downs)]
        level: Optional[UnetLevel] = None
        for i in reversed(range(num_downs)):  # built from the bottleneck outwards
            outer = widths[i - 1] if i > 0 else out_channels
            is_middle = 0 < i < num_downs - 1 and outer == widths[i] == 8 * ngf
            level = UnetLevel(
                in_channels if i == 0 else outer,
                widths[i],
                outer,
                level,
                outermost=i == 0,
                norm=norm,
                dropout=dropout and is_middle,
                padding=padding,
            )
        self.root = level
        # Registered after the levels so the state dict keeps the reference's parameter order.
        self.residual = make_residual_output(residual, input_map, in_channels, out_channels)
        self.feature_layers = layer_names(self.encoder_stages())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.root(x)
        return out if self.residual is None else self.residual(x, out)

    def encoder_stages(self) -> List[Stage]:
        stages: List[Stage] = []
        level: Optional[UnetLevel] = self.root
        while level is not None:
            stages.append((f"down{len(stages)}", level.encode))
            level = level.inner
        return stages

    def residual_output(self) -> Optional[ResidualOutput]:
        return self.residual


register_generator("unet", UnetGenerator, """U-Net with skip connections (pix2pix); ``num_downs`` levels, sizes a multiple of 2**num_downs.

    ``padding`` is the down-convs' padding mode; ``"zero"`` is the reference's. Options meant for
    other generators (``n_blocks`` ...) are accepted and ignored, so one config can build any
    member of the zoo.""")
register_generator("unet_128", UnetGenerator,
                   """U-Net with 7 downsamplings (pix2pix ``unet_128``): a 128x128 input reaches 1x1.""", num_downs=7)
register_generator("unet_256", UnetGenerator,
                   """U-Net with 8 downsamplings (pix2pix default ``unet_256``): a 256x256 input reaches 1x1.""",
                   num_downs=8)


# --------------------------------------------------------------------------- ResNet


class ResnetBlock(nn.Module):
    """``x + body(x)`` with body = pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3, norm."""

    def __init__(self, channels: int, norm: str, dropout: bool, padding: str):
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers = []
        for second in (False, True):
            pad = padding_layer(padding, 1)
            if pad is not None:
                layers.append(pad)
            conv_padding = 0 if pad is not None else 1
            layers += [nn.Conv2d(channels, channels, 3, padding=conv_padding, bias=bias), make_norm(channels)]
            if not second:
                layers.append(nn.ReLU())
                if dropout:
                    layers.append(nn.Dropout(0.5))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _transposed_up(c_in: int, c_out: int, bias: bool) -> nn.Module:
    # output_padding=1 makes the output exactly twice the input size.
    return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=bias)


def _resize_up(c_in: int, c_out: int, bias: bool) -> nn.Module:
    # Nearest-neighbour x2 then a 3x3 conv: every output pixel sees the same number of input
    # pixels, so no checkerboard pattern (Odena et al. 2016, "Deconvolution and checkerboard artifacts").
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                         nn.Conv2d(c_in, c_out, 3, bias=bias))


def _antialias_up(c_in: int, c_out: int, bias: bool) -> nn.Module:
    # CUT's default: a fixed blur upsampling (bilinear x2), then a learned 3x3 conv with zero
    # padding, as in CUT's published generators.
    return nn.Sequential(BlurUpsample(c_in), nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias))


# An up stage is ``UPSAMPLERS[name](c_in, c_out, bias)`` then norm and ReLU.
UPSAMPLERS = {"transpose": _transposed_up, "resize": _resize_up, "antialias": _antialias_up}


def _stride_down(c_in: int, c_out: int, bias: bool, make_norm: Callable[[int], nn.Module]) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=bias), make_norm(c_out), nn.ReLU())


def _antialias_down(c_in: int, c_out: int, bias: bool, make_norm: Callable[[int], nn.Module]) -> nn.Module:
    # Zhang 2019 / CUT: the conv runs at full resolution and the blur-pool halves the size after
    # the ReLU, so a one-pixel shift of the input no longer changes which pixels survive.
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias), make_norm(c_out), nn.ReLU(),
                         BlurDownsample(c_out))


# A down stage is built whole (norm and ReLU included), because the blur-pool comes after them.
DOWNSAMPLERS = {"stride": _stride_down, "antialias": _antialias_down}


class ResnetGenerator(Generator):
    """CycleGAN ResNet: 7x7 stem, downsamplings, residual blocks, upsamplings, 7x7 head with tanh.

    ``downsample``: ``"stride"`` (stride-2 convs, CycleGAN) or ``"antialias"`` (conv, norm, ReLU,
    blur-pool: CUT). ``upsample``: ``"transpose"`` (transposed convs, CycleGAN), ``"resize"``
    (resize-convs) or ``"antialias"`` (blur upsampling then a conv: CUT).

    The stem and head always reflect-pad (as the reference does); ``padding`` applies
    inside the residual blocks. Feature layers: ``input``, ``stem``, ``down0`` ...,
    ``block0`` ... (see ``contract.resnet_stages`` for CUT's choice among them).
    """

    supports_gradient_checkpointing = True

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        norm: str = "instance",
        dropout: bool = False,
        padding: str = "reflect",
        n_blocks: int = 9,
        n_downsampling: int = 2,
        downsample: str = "stride",
        upsample: str = "transpose",
        residual: bool = False,
        input_map: bool = False,
    ):
        super().__init__()
        _check_positive(in_channels=in_channels, out_channels=out_channels, ngf=ngf)
        if downsample not in DOWNSAMPLERS:
            raise InvalidSettingError(f"unknown downsample {downsample!r}; valid: {', '.join(DOWNSAMPLERS)}")
        if upsample not in UPSAMPLERS:
            raise InvalidSettingError(f"unknown upsample {upsample!r}; valid: {', '.join(UPSAMPLERS)}")
        if n_blocks < 0 or n_downsampling < 0:
            raise InvalidSettingError(f"n_blocks and n_downsampling must be >= 0, got {n_blocks}, {n_downsampling}")
        padding_layer(padding, 1)  # fail on a bad name even when n_blocks == 0
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.size_multiple = 2**n_downsampling

        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), make_norm(ngf), nn.ReLU()
        )
        self.down = nn.Sequential(*(
            DOWNSAMPLERS[downsample](ngf * 2**i, ngf * 2 ** (i + 1), bias, make_norm) for i in range(n_downsampling)
        ))
        width = ngf * 2**n_downsampling
        self.blocks = nn.Sequential(*(ResnetBlock(width, norm, dropout, padding) for _ in range(n_blocks)))
        self.up = nn.Sequential(*(
            nn.Sequential(
                UPSAMPLERS[upsample](ngf * 2**i, ngf * 2 ** (i - 1), bias),
                make_norm(ngf * 2 ** (i - 1)),
                nn.ReLU(),
            )
            for i in range(n_downsampling, 0, -1)
        ))
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh())
        self.residual = make_residual_output(residual, input_map, in_channels, out_channels)
        self.feature_layers = layer_names(self.encoder_stages())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Per-stage checkpoints: for CycleGAN (six generator passes a step) this peaked at
        # 2.16 GB vs 2.94 GB for checkpointing each generator whole (bf16, 256 px, measured).
        stages = [self.stem, *self.down, *self.blocks, *self.up, self.head]
        out = run_stages(stages, x, self.gradient_checkpointing)
        return out if self.residual is None else self.residual(x, out)

    def forward_with_features(self, x: torch.Tensor,
                              layers: Sequence[str]) -> Tuple[torch.Tensor, Optional[List[torch.Tensor]]]:
        # The same stages as forward, in the same order (so the same numbers), keeping the
        # activations asked for: CUT's keys without a second encoder pass (~10% of its step).
        found = collect_features(self.encoder_stages(), x, self.feature_layers, self.feature_layers,
                                 type(self).__name__, self.gradient_checkpointing)
        h = found[-1]  # after the last residual block: every encoder stage has run
        out = run_stages([*self.up, self.head], h, self.gradient_checkpointing)
        by_name = dict(zip(self.feature_layers, found))
        return (out if self.residual is None else self.residual(x, out)), [by_name[name] for name in layers]

    def encoder_stages(self) -> List[Stage]:
        return resnet_stages(self.stem, self.down, self.blocks)

    def residual_output(self) -> Optional[ResidualOutput]:
        return self.residual


register_generator("resnet", ResnetGenerator, """ResNet generator (CycleGAN) with ``n_blocks`` residual blocks; sizes a multiple of 2**n_downsampling.

    ``upsample="resize"`` replaces the transposed convs by resize-convs (no checkerboard);
    ``downsample="antialias", upsample="antialias"`` is CUT's anti-aliased layout. Options meant for
    other generators (``num_downs`` ...) are accepted and ignored.""")
# The presets fix what their names say, the depth; the sampling stays an option defaulting to
# CycleGAN's. CUT names the same two networks resnet_9blocks/resnet_6blocks and switches
# anti-aliasing by flags, so ``resnet_9blocks`` with ``downsample``/``upsample="antialias"`` is CUT's
# network under CUT's name, and no second set of preset names is needed for it.
_RESNET_PRESET = {"n_downsampling": 2}
register_generator(
    "resnet_6blocks", ResnetGenerator,
    """ResNet generator with 6 residual blocks (CycleGAN, 128x128 images; CUT's with antialias sampling).""",
    n_blocks=6, **_RESNET_PRESET)
register_generator(
    "resnet_9blocks", ResnetGenerator,
    """ResNet generator with 9 residual blocks (CycleGAN default, 256x256 images; CUT's with antialias sampling).""",
    n_blocks=9, **_RESNET_PRESET)
