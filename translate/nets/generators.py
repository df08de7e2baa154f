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

from typing import Any, Optional, Tuple

import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.colour_maps import apply_map, least_squares_map, transport_map
from translate.nets.layers import conv_bias, conv_padding_mode, norm_layer, padding_layer, run_stages
from translate.registry import GENERATORS


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise InvalidSettingError(f"{name} must be >= 1, got {value}")


# --------------------------------------------------------------------------- residual output


class ResidualOutput(nn.Module):
    """``clamp(M(input) + network_output, -1, 1)``: the generator learns the *change* to its input.

    With its network's output conv zeroed (``zero_network_output``; a random one is not near zero:
    ~15 dB of noise) a residual generator starts exactly at ``M(input)``, as residual image learning
    does (Kim et al. 2016, VDSR): for translations that keep most of the photo it starts where
    returning the input already scores, instead of from grey.

    ``input_map``: ``M`` is a learned colour map, a 1x1 convolution ``W x + b`` (the identity at
    first). A translation that must not keep the photo (photo -> pencil sketch) learns to drop it,
    and a translator with example pairs starts it at their least-squares colour map
    (``start_from``), which scores at least as well as returning the input or a flat colour; an
    unpaired one at the colour transfer between its two domains (``start_from_unpaired``). ``W``
    and ``b`` are stored as offsets ``theta`` with ``W = W0 + MAP_RATE * theta``: Adam moves a
    parameter by about the learning rate per step, so at 2e-4 a plain parameter would need ~5000
    steps to cross from 1 to 0; MAP_RATE makes that ~100 (the learning-rate multiplier of StyleGAN's
    mapping network). Without it (``input_map=False``: the checkpoints of before the map) ``M`` is
    the identity.
    """

    MAP_RATE = 50.0

    def __init__(self, channels: int, input_map: bool):
        super().__init__()
        self.input_map = input_map
        if input_map:
            self.register_buffer("start_weight", torch.eye(channels))
            self.register_buffer("start_bias", torch.zeros(channels))
            self.theta_weight = nn.Parameter(torch.zeros(channels, channels))
            self.theta_bias = nn.Parameter(torch.zeros(channels))

    def colour_map(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The current ``(W, b)`` of ``M``: C x C and C."""
        return (self.start_weight + self.MAP_RATE * self.theta_weight,
                self.start_bias + self.MAP_RATE * self.theta_bias)

    @torch.no_grad()
    def start_from(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Start ``M`` at the least-squares colour map from example pairs (N x C x H x W each, in
        [-1, 1]; colour_maps.least_squares_map); the learned offsets go back to zero."""
        if self.input_map:
            self._start_at(*least_squares_map(inputs, targets))

    @torch.no_grad()
    def start_from_unpaired(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Start ``M`` at the colour transfer from ``inputs``' colours to ``targets``' (any images of
        each domain, not pairs; colour_maps.transport_map): the unpaired counterpart of ``start_from``."""
        if self.input_map:
            self._start_at(*transport_map(inputs, targets))

    def _start_at(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        self.start_weight.copy_(weight.to(self.start_weight.dtype))
        self.start_bias.copy_(bias.to(self.start_bias.dtype))
        self.theta_weight.zero_()
        self.theta_bias.zero_()

    def forward(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.input_map:
            x = apply_map(x, *self.colour_map())
        value = x + out
        # Clamped forward, identity backward (straight-through): a plain clamp passes no gradient
        # where input + change leaves [-1, 1], so a bright photo pixel under a dark sketch line
        # stayed stuck at white (photo -> sketch: 19.2 dB with the clamp, 20.0 without).
        return value + (value.clamp(-1.0, 1.0) - value).detach()


def zero_network_output(generator: nn.Module) -> nn.Module:
    """Zero the last convolution of a residual generator's network, so that it starts exactly at
    ``M(input)``: with the usual N(0, 0.02) weights the random network adds noise of std ~0.35 to
    every pixel (PSNR ~15 dB against its own input), which the first hundreds of GAN steps spend
    removing. The zero-initialised residual branch of Goyal et al. 2017 / Fixup; gradients reach the
    rest of the network from the first update on. Generators without a residual output: unchanged."""
    if not isinstance(getattr(generator, "residual", None), ResidualOutput):
        return generator
    convs = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        convs[-1].weight.zero_()  # the layer that feeds the output (ResNet head, U-Net outermost up)
        if convs[-1].bias is not None:
            convs[-1].bias.zero_()
    return generator


def _residual_output(residual: bool, input_map: bool, in_channels: int, out_channels: int) -> Optional[ResidualOutput]:
    if not residual:
        return None
    if in_channels != out_channels:
        raise InvalidSettingError(f"residual needs as many output as input channels, got {in_channels} -> {out_channels}")
    return ResidualOutput(out_channels, input_map)


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        y = self.down(x)
        if self.inner is not None:
            y = self.inner(y)
        y = self.up(y)
        return y if self.outermost else torch.cat([x, y], dim=1)


class UnetGenerator(nn.Module):
    """pix2pix U-Net: ``num_downs`` stride-2 levels with concatenating skips.

    Level ``i`` (0 = outermost) has ``ngf * min(2**i, 8)`` inner channels. Dropout, when
    on, goes where the reference puts it: levels whose input and inner width are both
    ``8 * ngf``, except the innermost.
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
        self.residual = _residual_output(residual, input_map, in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.root(x)
        return out if self.residual is None else self.residual(x, out)


@GENERATORS.register("unet")
def unet(
    in_channels: int = 3,
    out_channels: int = 3,
    ngf: int = 64,
    norm: str = "batch",
    dropout: bool = False,
    padding: str = "zero",
    num_downs: int = 8,
    residual: bool = False,
    input_map: bool = False,
    **kwargs: Any,
) -> UnetGenerator:
    """U-Net with skip connections (pix2pix); ``num_downs`` levels, sizes a multiple of 2**num_downs.

    ``padding`` is the down-convs' padding mode; ``"zero"`` is the reference's. Options
    meant for other generators (``n_blocks`` ...) are accepted and ignored, so one
    config can build any member of the zoo.
    """
    return UnetGenerator(in_channels, out_channels, num_downs, ngf, norm, dropout, padding, residual, input_map)


@GENERATORS.register("unet_128")
def unet_128(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: str = "batch",
             dropout: bool = False, padding: str = "zero", residual: bool = False, input_map: bool = False,
             **kwargs: Any) -> UnetGenerator:
    """U-Net with 7 downsamplings (pix2pix ``unet_128``): a 128x128 input reaches 1x1."""
    return UnetGenerator(in_channels, out_channels, 7, ngf, norm, dropout, padding, residual, input_map)


@GENERATORS.register("unet_256")
def unet_256(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: str = "batch",
             dropout: bool = False, padding: str = "zero", residual: bool = False, input_map: bool = False,
             **kwargs: Any) -> UnetGenerator:
    """U-Net with 8 downsamplings (pix2pix default ``unet_256``): a 256x256 input reaches 1x1."""
    return UnetGenerator(in_channels, out_channels, 8, ngf, norm, dropout, padding, residual, input_map)


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


UPSAMPLERS = {"transpose": _transposed_up, "resize": _resize_up}


class ResnetGenerator(nn.Module):
    """CycleGAN ResNet: 7x7 stem, stride-2 downsamplings, residual blocks, upsamplings
    (transposed convs as in the paper, or resize-convs), 7x7 head with tanh.

    The stem and head always reflect-pad (as the reference does); ``padding`` applies
    inside the residual blocks.
    """

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
        upsample: str = "transpose",
        residual: bool = False,
        input_map: bool = False,
    ):
        super().__init__()
        _check_positive(in_channels=in_channels, out_channels=out_channels, ngf=ngf)
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
            nn.Sequential(
                nn.Conv2d(ngf * 2**i, ngf * 2 ** (i + 1), 3, stride=2, padding=1, bias=bias),
                make_norm(ngf * 2 ** (i + 1)),
                nn.ReLU(),
            )
            for i in range(n_downsampling)
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
        self.residual = _residual_output(residual, input_map, in_channels, out_channels)
        self.gradient_checkpointing = False  # set by the translator (--set gradient_checkpointing=true)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Per-stage checkpoints: for CycleGAN (six generator passes a step) this peaked at
        # 2.16 GB vs 2.94 GB for checkpointing each generator whole (bf16, 256 px, measured).
        stages = [self.stem, *self.down, *self.blocks, *self.up, self.head]
        out = run_stages(stages, x, self.gradient_checkpointing)
        return out if self.residual is None else self.residual(x, out)


@GENERATORS.register("resnet")
def resnet(
    in_channels: int = 3,
    out_channels: int = 3,
    ngf: int = 64,
    norm: str = "instance",
    dropout: bool = False,
    padding: str = "reflect",
    n_blocks: int = 9,
    n_downsampling: int = 2,
    upsample: str = "transpose",
    residual: bool = False,
    input_map: bool = False,
    **kwargs: Any,
) -> ResnetGenerator:
    """ResNet generator (CycleGAN) with ``n_blocks`` residual blocks; sizes a multiple of 2**n_downsampling.

    ``upsample="resize"`` replaces the transposed convs by resize-convs (no checkerboard).
    Options meant for other generators (``num_downs`` ...) are accepted and ignored.
    """
    return ResnetGenerator(in_channels, out_channels, ngf, norm, dropout, padding, n_blocks, n_downsampling,
                           upsample, residual, input_map)


@GENERATORS.register("resnet_6blocks")
def resnet_6blocks(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: str = "instance",
                   dropout: bool = False, padding: str = "reflect", residual: bool = False,
                   input_map: bool = False, **kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 6 residual blocks (CycleGAN, for 128x128 images)."""
    return ResnetGenerator(in_channels, out_channels, ngf, norm, dropout, padding, n_blocks=6,
                           residual=residual, input_map=input_map)


@GENERATORS.register("resnet_9blocks")
def resnet_9blocks(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: str = "instance",
                   dropout: bool = False, padding: str = "reflect", residual: bool = False,
                   input_map: bool = False, **kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 9 residual blocks (CycleGAN default, 256x256 images)."""
    return ResnetGenerator(in_channels, out_channels, ngf, norm, dropout, padding, n_blocks=9,
                           residual=residual, input_map=input_map)
