"""pix2pix (Isola et al. 2017): paired translation with a conditional PatchGAN.

G maps A to B; D judges (A, B) pairs, so it learns what a *matching* B looks like.
Loss_G = lambda_gan * GAN(D(A, G(A))) + lambda_l1 * |G(A) - B|_1 (+ optional SSIM,
perceptual and feature-matching terms). Preset: U-Net 256 with batch norm and
dropout, 70x70 PatchGAN, vanilla GAN, L1 x 100, Adam 2e-4 (beta1 0.5).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Dict, Tuple, Union

import torch
from torch import nn

from translate.losses import AdversarialLoss, FeatureMatchingLoss, build_loss
from translate.losses.diffaugment import DiffAugment
from translate.config import WEIGHT, Rule
from translate.data.samples import SampleSet
from translate.registry import TRANSLATORS
from translate.translators.base import (Translator, NetworkOptions, StepResult, build_generator_from_spec,
                                        domains, generator_spec, make_discriminator, preprocess_record)
from translate.translators.residual import decide_auto
from translate.translators.terms import WeightedTerms, image_terms, predictions


@dataclass
class Pix2PixOptions(NetworkOptions):
    generator: str = "unet_256"
    norm: str = "batch"
    dropout: bool = True
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0  # weight of the L1 term |G(A) - B|
    # auto: decided before training by translators/residual.py's rules (tools/BENCHMARKS.md, quality)
    residual: Union[bool, str] = "auto"

    RULES: ClassVar[Dict[str, Rule]] = {"lambda_l1": WEIGHT}


@TRANSLATORS.register("pix2pix")
class Pix2Pix(Translator):
    """Paired A->B translation: U-Net + conditional PatchGAN, GAN + L1 x100 (Isola et al. 2017)."""

    Options = Pix2PixOptions
    applies_diff_augment = True
    data_kind = "paired"

    def __init__(self, opts: Pix2PixOptions, train):
        self.opts = opts
        self.direction = train.direction
        c_in, c_out = self._channels(train)
        self.spec = generator_spec(opts, c_in, c_out, self.registered_name(), self.direction, preprocess_record(train))
        self.generators = nn.ModuleDict({"G": build_generator_from_spec(self.spec, opts)})
        self.discriminators = nn.ModuleDict({"D": make_discriminator(opts, c_in + c_out)})
        self.adversarial = AdversarialLoss(opts.gan_mode)
        self.l1 = build_loss("l1")
        self.extra = WeightedTerms(image_terms(opts))
        self.feature_matching = FeatureMatchingLoss() if opts.lambda_feature_matching else None
        self.augment = DiffAugment(opts.diff_augment)

    @classmethod
    def prepare(cls, opts: Pix2PixOptions, train, samples: SampleSet) -> Pix2PixOptions:
        # residual: auto becomes true or false here (translators/residual.py), so config.yaml says which.
        c_in, c_out = cls._channels(train)

        def pairs():  # only when the rule needs the data (a ResNet on paired data)
            return cls._ordered(samples.items(), train.direction)

        return replace(opts, residual=decide_auto(opts.residual, opts.generator, c_in, c_out, pairs))

    @staticmethod
    def _channels(train) -> Tuple[int, int]:
        pair = (train.channels_a, train.channels_b)
        return pair if train.direction == "AtoB" else pair[::-1]

    @staticmethod
    def _ordered(batch: Dict[str, torch.Tensor], direction: str) -> Tuple[torch.Tensor, torch.Tensor]:
        source, target = domains(direction)
        return batch[source], batch[target]

    def _pair(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        return self._ordered(batch, self.direction)

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        real_in, real_out = self._pair(batch)
        fake_out = self.generators["G"](real_in)
        d = self.discriminators["D"]
        fake_pair = torch.cat([real_in, fake_out], 1)
        logs: Dict[str, torch.Tensor] = {}
        if self.feature_matching is not None:
            # One augmentation draw for both pairs, so the features are compared like for like.
            fake_pair, real_pair = self.for_discriminator(fake_pair, torch.cat([real_in, real_out], 1))
            fake_features = d.forward_features(fake_pair)
            with torch.no_grad():
                real_features = d.forward_features(real_pair)
            pred_fake = predictions(fake_features)
            fm = self.feature_matching(real_features, fake_features) * self.opts.lambda_feature_matching
            logs["G_fm"] = fm.detach()
        else:
            pred_fake = d(self.for_discriminator(fake_pair))
            fm = 0.0
        gan = self.adversarial.generator_loss(pred_fake) * self.opts.lambda_gan
        l1 = self.l1(fake_out, real_out) * self.opts.lambda_l1
        extra = self.extra(fake_out, real_out, logs)
        logs.update(G_gan=gan.detach(), G_l1=l1.detach())
        return StepResult(gan + l1 + fm + extra, logs, {"fake": fake_out.detach()})

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        real_in, real_out = self._pair(batch)
        d = self.discriminators["D"]
        real_pair = torch.cat([real_in, real_out], 1)
        fake_pair = torch.cat([real_in, fakes["fake"]], 1)
        # Input and output halves of a pair move together (one tensor); real and fake pairs share
        # their input, so they share the draw too and differ only in the output half.
        real_pair, fake_pair = self.for_discriminator(real_pair, fake_pair.to(real_pair.dtype))
        loss, gp = self.adversarial.judge(d, real_pair, fake_pair, self.opts.lambda_gp)
        logs = {"D": loss.detach()} if gp is None else {"D": loss.detach(), "D_gp": gp.detach()}
        return StepResult(loss, logs)

    def visuals(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        real_in, real_out = self._pair(batch)
        return {"input": real_in, "output": fakes["fake"], "target": real_out}

    def exported(self):
        return {self.direction: (self.generators["G"], self.spec)}
