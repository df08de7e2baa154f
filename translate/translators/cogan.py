"""CoGAN (Liu & Tuzel 2016): a coupled pair of GANs that learns a joint A/B distribution.

Two generators share their first layers and two discriminators their last ones (see
:mod:`translate.nets.cogan`); trained adversarially, each on its own domain's unpaired
images, they learn to draw corresponding pairs ``(G_A(z), G_B(z))`` from one noise vector.
Per step, with ``z ~ N(0, I)`` drawn from torch's global RNG (which the loop saves, so
resuming repeats the same draws)::

    Loss_G = lambda_gan * (GAN(D_A(G_A(z))) + GAN(D_B(G_B(z))))
             + lambda_encoder * (|E_A(G_A(z)) - z|^2 + |E_B(G_B(z)) - z|^2)    (encoders only)
    Loss_D = GAN_D(D_A(a), D_A(G_A(z))) + GAN_D(D_B(b), D_B(G_B(z)))

The encoders see detached fakes, so they learn to invert the generators without pulling on
them; they only give ``translate apply``'s latent search a first guess. Translation A->B
(and B->A) is that search: ``z* = argmin_z |G_A(z) - a|^2`` by Adam from several starts,
output ``G_B(z*)`` (``invert_iterations``, ``invert_restarts``, ``invert_lr``; saved in the
checkpoint). Preset from the paper: batch norm, vanilla GAN (BCE), Adam 2e-4 with beta1 0.5,
generators sharing all but their last layer and discriminators all but their first.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar, Dict, FrozenSet

import torch
import torch.nn.functional as F
from torch import nn

from translate.config import WEIGHT, WIDTH, CheckedOptions, Rule, between, one_of
from translate.errors import InvalidSettingError
from translate.checkpoint import GeneratorSpec
from translate.losses import AdversarialLoss
from translate.losses.adversarial import ADVERSARIAL_MODES
from translate.nets import init_weights
from translate.nets.layers import init_names, norm_names
from translate.nets.cogan import (DOMAINS, CoGANInverter, CoupledDiscriminator, CoupledGenerator, LatentEncoder,
                                  upsamplings_for)
from translate.registry import TRANSLATORS
from translate.translators.base import Translator, StepResult, preprocess_record


@dataclass
class CoGANOptions(CheckedOptions):
    latent_dim: int = 100  # length of z
    ngf: int = 64  # generator width (of its last hidden layer)
    ndf: int = 64  # discriminator width (of its first layer)
    norm: str = "batch"  # batch | instance | none
    private_layers_g: int = 1  # generator layers per domain, counted from the image (the rest are shared)
    private_layers_d: int = 1  # discriminator layers per domain, counted from the image
    init: str = "normal"  # normal | xavier | kaiming | orthogonal
    init_gain: float = 0.02  # scale of the initial weights
    gan_mode: str = "vanilla"  # vanilla | lsgan | wgangp | hinge
    lambda_gan: float = 1.0  # weight of the adversarial term
    lambda_gp: float = 10.0  # gradient penalty weight (wgangp)
    encoder: bool = True  # train encoders E_A, E_B that start apply's latent search
    nef: int = 32  # encoder width
    lambda_encoder: float = 1.0  # weight of the encoders' latent regression term
    invert_iterations: int = 100  # Adam steps of apply's latent search
    invert_restarts: int = 4  # starts of the search (the encoder's guess + random draws)
    invert_lr: float = 0.05  # Adam learning rate of apply's latent search

    RULES: ClassVar[Dict[str, Rule]] = {
        "latent_dim": WIDTH,
        "ngf": WIDTH,
        "ndf": WIDTH,
        "norm": one_of(norm_names),
        "private_layers_g": between(1, 16),  # the upper end at the size: nets.cogan checks it
        "private_layers_d": between(1, 16),
        "init": one_of(init_names),
        "init_gain": between(0, 10, exclude_low=True),
        "gan_mode": one_of(lambda: tuple(ADVERSARIAL_MODES)),
        "lambda_gan": WEIGHT,
        "lambda_gp": WEIGHT,
        "nef": WIDTH,
        "lambda_encoder": WEIGHT,
        "invert_iterations": between(0, 1_000_000),
        "invert_restarts": between(1, 1000),
        "invert_lr": between(0, 10, exclude_low=True),
    }
    ARCHITECTURE: ClassVar[FrozenSet[str]] = frozenset({
        "latent_dim", "ngf", "ndf", "norm", "private_layers_g", "private_layers_d", "encoder", "nef"})


@TRANSLATORS.register("cogan")
class CoGAN(Translator):
    """Unpaired A<->B via coupled GANs with shared layers; translates by latent inversion (Liu & Tuzel 2016)."""

    Options = CoGANOptions
    data_kind = "unpaired"
    train_defaults = {"size": 64}  # the paper trains at 64x64 (32-128 work); --size overrides

    def __init__(self, opts: CoGANOptions, train):
        try:
            upsamplings_for(train.size)
        except ValueError:
            raise InvalidSettingError(f"--size {train.size}: CoGAN draws squares whose side is a power of two >= 8 "
                             f"(32 to 128 in the paper)") from None
        self.opts = opts
        channels = {"A": train.channels_a, "B": train.channels_b}
        generator = CoupledGenerator(opts.latent_dim, train.size, opts.ngf, channels["A"], channels["B"],
                                     opts.norm, opts.private_layers_g)
        nets = {"G": generator}
        if opts.encoder:
            for d in DOMAINS:
                nets["E_" + d] = LatentEncoder(channels[d], opts.latent_dim, train.size, opts.nef, opts.norm)
        self.generators = nn.ModuleDict({k: init_weights(v, opts.init, opts.init_gain) for k, v in nets.items()})
        self.discriminators = nn.ModuleDict({"D": init_weights(
            CoupledDiscriminator(train.size, opts.ndf, channels["A"], channels["B"], opts.norm, opts.private_layers_d),
            opts.init, opts.init_gain)})
        self.adversarial = AdversarialLoss(opts.gan_mode)
        pre = preprocess_record(train)
        kwargs = {"latent_dim": opts.latent_dim, "size": train.size, "ngf": opts.ngf, "norm": opts.norm,
                  "private_layers": opts.private_layers_g, "encoder": opts.encoder, "nef": opts.nef,
                  "iterations": opts.invert_iterations, "restarts": opts.invert_restarts, "lr": opts.invert_lr}
        self.specs = {
            "AtoB": GeneratorSpec("cogan_inverter", channels["A"], channels["B"], {**kwargs, "source": "A"}, pre,
                                  self.registered_name(), "AtoB"),
            "BtoA": GeneratorSpec("cogan_inverter", channels["B"], channels["A"], {**kwargs, "source": "B"}, pre,
                                  self.registered_name(), "BtoA"),
        }

    def _noise(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape[0], self.opts.latent_dim, device=like.device)

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        o, g, d = self.opts, self.generators, self.discriminators["D"]
        z = self._noise(batch["A"])
        fake = dict(zip(DOMAINS, g["G"](z)))
        logs: Dict[str, torch.Tensor] = {}
        total = 0.0
        for dom in DOMAINS:
            gan = self.adversarial.generator_loss(d(fake[dom], dom)) * o.lambda_gan
            logs["G_" + dom] = gan.detach()
            total = total + gan
            if o.encoder:
                # Detached: the encoder learns to invert G; G is not bent towards being invertible.
                enc = F.mse_loss(g["E_" + dom](fake[dom].detach()).float(), z) * o.lambda_encoder
                logs["E_" + dom] = enc.detach()
                total = total + enc
        return StepResult(total, logs, {"fake_A": fake["A"].detach(), "fake_B": fake["B"].detach()})

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        d = self.discriminators["D"]
        logs: Dict[str, torch.Tensor] = {}
        total = 0.0
        for dom in DOMAINS:
            real, fake = batch[dom], fakes["fake_" + dom].to(batch[dom].dtype)
            loss, _ = self.adversarial.judge(functools.partial(d, domain=dom), real, fake, self.opts.lambda_gp)
            logs["D_" + dom] = loss.detach()
            total = total + loss
        return StepResult(total, logs)

    def visuals(self, batch, fakes) -> Dict[str, torch.Tensor]:
        # fake_A and fake_B come from the same z: the pair shows what the coupling learnt.
        return {"real_A": batch["A"], "real_B": batch["B"], "fake_A": fakes["fake_A"], "fake_B": fakes["fake_B"]}

    def exported(self):
        """Latent-inversion translators around the live networks (built per call, they own no weights)."""
        g, o = self.generators, self.opts
        out = {}
        for direction, source in (("AtoB", "A"), ("BtoA", "B")):
            inverter = CoGANInverter(g["G"], g["E_" + source] if o.encoder else None, source,
                                     o.invert_iterations, o.invert_restarts, o.invert_lr)
            out[direction] = (inverter, self.specs[direction])
        return out
