"""What a translator is: networks plus a generator step and a discriminator step.

A translator never loops, moves data between devices, steps optimisers or writes
files: ``translate.train.loop`` owns all of that, so pix2pix and CycleGAN differ
only in their translator file. Each translator declares

* ``Options``: a dataclass whose defaults are the paper's preset;
* ``data_kind``: ``"paired"`` or ``"unpaired"``, which dataset it trains on;
* ``generators`` / ``discriminators``: ``nn.ModuleDict``s, optimised by one Adam each;
* ``generator_loss(batch)`` and ``discriminator_loss(batch, fakes)``, run under autocast;
* ``exported()``: the generators that ``apply`` can use, keyed by direction.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional

import torch
from torch import nn

from translate.checkpoint import GeneratorSpec
from translate.nets import build_discriminator, init_weights
from translate.nets.options import check_user_options


@dataclass
class StepResult:
    loss: torch.Tensor
    logs: Dict[str, torch.Tensor] = field(default_factory=dict)  # detached scalars for the progress bar
    fakes: Dict[str, torch.Tensor] = field(default_factory=dict)  # detached images for the D step / visuals


@dataclass
class NetworkOptions:
    """Network and loss options common to the image-to-image translators."""

    generator: str = "resnet_9blocks"  # any name from `translate models`
    ngf: int = 64  # generator width (filters in the first layer)
    norm: str = "instance"  # batch | instance | none
    dropout: bool = False  # dropout in the generator (U-Net middle levels, ResNet blocks)
    padding: Optional[str] = None  # reflect | replicate | zero; None = the generator's own default
    generator_options: Dict[str, Any] = field(default_factory=dict)  # extra builder args, e.g. {n_blocks: 4}
    init: str = "normal"  # normal | xavier | kaiming | orthogonal
    init_gain: float = 0.02  # scale of the initial weights
    discriminator: str = "patchgan"  # patchgan | pixel | multiscale
    ndf: int = 64  # discriminator width (filters in the first layer)
    n_layers_d: int = 3  # PatchGAN depth: 3 gives 70x70 patches
    norm_d: Optional[str] = None  # discriminator norm; None = same as norm
    spectral_norm: bool = False  # spectral normalisation on discriminator convs
    num_scales: int = 2  # multiscale discriminator only
    gan_mode: str = "lsgan"  # vanilla | lsgan | wgangp | hinge
    lambda_gan: float = 1.0  # weight of the adversarial term
    lambda_gp: float = 10.0  # gradient penalty weight (wgangp)
    lambda_ssim: float = 0.0  # SSIM term on the reconstruction/target
    lambda_perceptual: float = 0.0  # VGG perceptual term
    lambda_feature_matching: float = 0.0  # discriminator feature matching
    gradient_checkpointing: bool = False  # recompute generator activations in backward: less memory, more time
    vgg_weights: Optional[str] = None  # local VGG file; default: torch cache (vgg19-dcbb9e9d.pth)


def generator_spec(opts: NetworkOptions, in_channels: int, out_channels: int, translator: str, direction: str,
                   preprocess: Dict[str, Any]) -> GeneratorSpec:
    kwargs: Dict[str, Any] = {"ngf": opts.ngf, "norm": opts.norm, "dropout": opts.dropout}
    if opts.padding is not None:
        kwargs["padding"] = opts.padding
    # Applied or refused: builders ignore keys they do not name, which hid typos and presets that
    # fix the option (resnet_9blocks with n_blocks: 6 trained 9 blocks while inspect said 6).
    check_user_options(opts.generator, opts.generator_options)
    kwargs.update(opts.generator_options)
    return GeneratorSpec(opts.generator, in_channels, out_channels, kwargs, preprocess, translator, direction)


def build_generator_from_spec(spec: GeneratorSpec, opts: NetworkOptions) -> nn.Module:
    net = init_weights(spec.build(), kind=opts.init, gain=opts.init_gain)
    if hasattr(net, "gradient_checkpointing"):  # generators that support it say so
        net.gradient_checkpointing = opts.gradient_checkpointing
    return net


def make_discriminator(opts: NetworkOptions, in_channels: int) -> nn.Module:
    kwargs: Dict[str, Any] = dict(ndf=opts.ndf, n_layers=opts.n_layers_d, norm=opts.norm_d or opts.norm,
                                  spectral_norm=opts.spectral_norm)
    if opts.discriminator == "multiscale":
        kwargs["num_scales"] = opts.num_scales
    net = build_discriminator(opts.discriminator, in_channels=in_channels, **kwargs)
    return init_weights(net, kind=opts.init, gain=opts.init_gain)


def options_dict(opts: Any) -> Dict[str, Any]:
    return asdict(opts)


def preprocess_record(train) -> Dict[str, Any]:
    """How training images were prepared; saved with each generator for apply's defaults."""
    return {"mode": train.preprocess, "size": train.size, "load_size": train.load_size}
