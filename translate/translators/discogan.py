"""DiscoGAN (Kim et al. 2017): unpaired translation through two encoder-decoders.

G_AB: A->B and G_BA: B->A (no skip connections, so shapes can change), a discriminator per
domain (D_B judges B images, D_A judges A images). With ``r`` the reconstruction rate of the
schedule below, per direction (shown for A->B->A)::

    L_GAN  = lambda_gan * GAN(D_B(G_AB(a))) + lambda_feature_matching * FM(D_B; b, G_AB(a))
    L_rec  = rec(G_BA(G_AB(a)), a)                         (MSE by default; L1 or SSIM)
    Loss_G = sum over both directions of (1 - r) * L_GAN + r * L_rec  (+ optional SSIM/VGG terms)

FM is the reference's feature matching: the squared distance between the *batch means* of
the discriminator's intermediate activations on real and on fake images,
``sum_l mean_chw (E_batch f_l(real) - E_batch f_l(fake))^2`` (a statistic match, unlike
pix2pixHD's per-sample L1). The reference weighs GAN 0.1 and FM 0.9, BCE, and the schedule
``r = recon_rate_start`` for the first ``gan_curriculum`` steps, then ``recon_rate``:
0.01 then 0.5 after 10000 iterations, i.e. an almost pure GAN objective early on ("strong
GAN loss for a certain period at the beginning") and an even mix afterwards. Adam 2e-4,
betas (0.5, 0.999), weight decay 1e-5 on both optimisers. The reference alternates its
updates (one D step, then two G steps); our loop does one of each per step.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Sequence

import torch
from torch import nn

from translate.config import COUNT, FRACTION, WEIGHT, Rule, between, one_of
from translate.errors import InvalidSettingError
from translate.losses import AdversarialLoss, build_loss
from translate.nets.discogan import downsamplings_for
from translate.registry import TRANSLATORS
from translate.translators.base import (Translator, NetworkOptions, StepResult, build_generator_from_spec, cycle,
                                        cycle_visuals, make_discriminator, two_way_specs)
from translate.translators.terms import RECONSTRUCTION_LOSSES, WeightedTerms, image_terms, predictions



@dataclass
class DiscoGANOptions(NetworkOptions):
    generator: str = "encoder_decoder"  # any generator of the zoo, e.g. resnet_6blocks
    norm: str = "batch"
    discriminator: str = "discogan"  # or patchgan / pixel / multiscale
    n_layers_d: int = 0  # discriminator depth; 0 = down to 4x4 at the training size (4 at 64 px)
    gan_mode: str = "vanilla"  # BCE, as the reference; lsgan | wgangp | hinge also work
    lambda_gan: float = 0.1
    lambda_feature_matching: float = 0.9  # 0 switches feature matching off
    recon_loss: str = "mse"  # mse | l1 | ssim
    recon_rate_start: float = 0.01  # reconstruction weight r for the first gan_curriculum steps
    recon_rate: float = 0.5  # r afterwards; the GAN terms weigh 1 - r
    gan_curriculum: int = 10000  # steps of the early (mostly GAN) phase
    weight_decay: float = 1e-5  # Adam weight decay of both optimisers

    RULES: ClassVar[Dict[str, Rule]] = {
        "n_layers_d": between(0, 10),  # 0: chosen from the training size
        "lambda_gan": WEIGHT,
        "recon_loss": one_of(RECONSTRUCTION_LOSSES),
        "recon_rate_start": FRACTION,
        "recon_rate": FRACTION,
        "gan_curriculum": COUNT,
        "weight_decay": FRACTION,
    }


def mean_feature_matching(real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor]) -> torch.Tensor:
    """DiscoGAN feature matching: ``sum_l mean((mean_batch real_l - mean_batch fake_l)^2)``.

    ``real`` and ``fake`` are the discriminator's intermediate features (prediction excluded);
    real ones are detached so only the generator learns from this term.
    """
    total = fake[0].new_zeros((), dtype=torch.float32) if len(fake) else torch.zeros(())
    for r, f in zip(real, fake):
        total = total + (r.detach().float().mean(0) - f.float().mean(0)).pow(2).mean()
    return total


@TRANSLATORS.register("discogan")
class DiscoGAN(Translator):
    """Unpaired A<->B translation: encoder-decoder generators, reconstruction + feature matching (Kim et al. 2017)."""

    Options = DiscoGANOptions
    data_kind = "unpaired"
    train_defaults = {"size": 64}  # the paper trains at 64x64; --size overrides

    def __init__(self, opts: DiscoGANOptions, train):
        if opts.discriminator == "discogan" and not opts.n_layers_d:
            # Down to 4x4 at the training size, then the valid 4x4 conv gives one logit.
            try:
                opts = dataclasses.replace(opts, n_layers_d=downsamplings_for(train.size))
            except ValueError:
                raise InvalidSettingError(f"--size {train.size}: DiscoGAN's networks reach 4x4 from a power of two >= 8 "
                                 f"(or set n_layers_d and generator_options={{n_downs: N}})") from None
        self.opts = opts
        # Weight decay as the reference, for the Trainer's two Adams.
        ca, cb = train.channels_a, train.channels_b
        self.specs = two_way_specs(opts, train, self.registered_name())
        if opts.generator == "encoder_decoder":
            for spec in self.specs.values():  # its depth follows the training size (64 -> 4 downsamplings)
                spec.kwargs.setdefault("image_size", train.size)
        self.generators = nn.ModuleDict({"G_AB": build_generator_from_spec(self.specs["AtoB"], opts),
                                         "G_BA": build_generator_from_spec(self.specs["BtoA"], opts)})
        self.discriminators = nn.ModuleDict({"D_A": make_discriminator(opts, ca),  # judges A images
                                             "D_B": make_discriminator(opts, cb)})
        self.adversarial = AdversarialLoss(opts.gan_mode)
        self.recon = build_loss(opts.recon_loss)
        self.extra = WeightedTerms(image_terms(opts))
        self.rate = opts.recon_rate_start if opts.gan_curriculum > 0 else opts.recon_rate

    def optimizer_options(self) -> Dict[str, Any]:
        return {"weight_decay": self.opts.weight_decay}

    def before_step(self, step: int) -> None:
        """The reference's schedule: a pure function of the step, so resuming needs no state."""
        o = self.opts
        self.rate = o.recon_rate_start if step < o.gan_curriculum else o.recon_rate

    def _adversarial(self, d_name: str, real: torch.Tensor, fake: torch.Tensor, logs: Dict, label: str):
        """``lambda_gan * GAN + lambda_fm * FM`` for ``fake`` judged by ``d_name`` against ``real``."""
        o, d = self.opts, self.discriminators[d_name]
        if not o.lambda_feature_matching:
            gan = self.adversarial.generator_loss(d(fake)) * o.lambda_gan
            logs["G_" + label] = gan.detach()
            return gan
        fake_features = d.forward_features(fake)
        with torch.no_grad():
            real_features = d.forward_features(real)
        gan = self.adversarial.generator_loss(predictions(fake_features)) * o.lambda_gan
        fm = sum(mean_feature_matching(r[:-1], f[:-1]) for r, f in zip(real_features, fake_features))
        fm = fm * o.lambda_feature_matching
        logs.update({"G_" + label: gan.detach(), "fm_" + label: fm.detach()})
        return gan + fm

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        g = self.generators
        real_a, real_b = batch["A"], batch["B"]
        fake_b, rec_a, fake_a, rec_b = cycle(g["G_AB"], g["G_BA"], real_a, real_b)
        logs: Dict[str, torch.Tensor] = {}
        adv = self._adversarial("D_B", real_b, fake_b, logs, "AB") + self._adversarial("D_A", real_a, fake_a, logs, "BA")
        rec_a_loss, rec_b_loss = self.recon(rec_a, real_a), self.recon(rec_b, real_b)
        extra = self.extra(rec_a, real_a, logs, "_A") + self.extra(rec_b, real_b, logs, "_B")
        total = (1.0 - self.rate) * adv + self.rate * (rec_a_loss + rec_b_loss) + extra
        logs.update(rec_A=rec_a_loss.detach(), rec_B=rec_b_loss.detach(),
                    rate=torch.tensor(self.rate))
        fakes = {"fake_B": fake_b.detach(), "fake_A": fake_a.detach(), "rec_A": rec_a.detach(), "rec_B": rec_b.detach()}
        return StepResult(total, logs, fakes)

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        logs: Dict[str, torch.Tensor] = {}
        total = 0.0
        for d_name, real, fake in (("D_A", batch["A"], fakes["fake_A"]), ("D_B", batch["B"], fakes["fake_B"])):
            d = self.discriminators[d_name]
            loss, _ = self.adversarial.judge(d, real, fake, self.opts.lambda_gp)
            logs[d_name] = loss.detach()
            total = total + loss
        return StepResult(total, logs)

    def visuals(self, batch, fakes) -> Dict[str, torch.Tensor]:
        return cycle_visuals(batch, fakes)

    def exported(self):
        return {"AtoB": (self.generators["G_AB"], self.specs["AtoB"]),
                "BtoA": (self.generators["G_BA"], self.specs["BtoA"])}
