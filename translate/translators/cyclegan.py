"""CycleGAN (Zhu et al. 2017): unpaired translation with cycle consistency.

G_A: A->B and G_B: B->A, with discriminators D_A (judges B images) and D_B
(judges A images). Loss_G = GAN(D_A(G_A(a))) + GAN(D_B(G_B(b)))
+ lambda_cycle * (|G_B(G_A(a)) - a| + |G_A(G_B(b)) - b|)
+ lambda_cycle * lambda_identity * (|G_A(b) - b| + |G_B(a) - a|).
Discriminators see fakes drawn from a 50-image history pool. Preset: ResNet-9
generators with instance norm, 70x70 PatchGAN, LSGAN, cycle x10, identity x0.5.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Dict, Union

import torch
from torch import nn

from translate.config import WEIGHT, Rule, between, one_of
from translate.data.samples import SampleSet
from translate.losses import AdversarialLoss, build_loss
from translate.losses.diffaugment import DiffAugment
from translate.registry import TRANSLATORS
from translate.translators.base import (Translator, NetworkOptions, StepResult, build_generator_from_spec, cycle,
                                        cycle_visuals, make_discriminator, two_way_specs)
from translate.translators.image_pool import ImagePool
from translate.translators.residual import decide_auto
from translate.translators.terms import RECONSTRUCTION_LOSSES, WeightedTerms, image_terms


@dataclass
class CycleGANOptions(NetworkOptions):
    lambda_cycle: float = 10.0  # weight of both cycle-consistency terms
    lambda_identity: float = 0.5  # identity weight, relative to lambda_cycle (paper's convention)
    cycle_loss: str = "l1"  # l1 | mse | ssim
    pool_size: int = 50  # 0 disables the image history pool
    # auto: decided before training by translators/residual.py's rules (tools/BENCHMARKS.md, quality)
    residual: Union[bool, str] = "auto"

    RULES: ClassVar[Dict[str, Rule]] = {
        "lambda_cycle": WEIGHT,
        "lambda_identity": WEIGHT,
        "cycle_loss": one_of(RECONSTRUCTION_LOSSES),
        "pool_size": between(0, 10_000),  # images kept; each is a batch-sized tensor in memory
    }


@TRANSLATORS.register("cyclegan")
class CycleGAN(Translator):
    """Unpaired A<->B translation: two ResNet generators, cycle + identity losses (Zhu et al. 2017)."""

    Options = CycleGANOptions
    applies_diff_augment = True
    data_kind = "unpaired"

    @classmethod
    def prepare(cls, opts: CycleGANOptions, train, samples: SampleSet) -> CycleGANOptions:
        # residual: auto becomes true or false here (translators/residual.py), so config.yaml says which.
        return replace(opts, residual=decide_auto(opts.residual, opts.generator, train.channels_a, train.channels_b))

    def __init__(self, opts: CycleGANOptions, train):
        self.opts = opts
        ca, cb = train.channels_a, train.channels_b
        self.specs = two_way_specs(opts, train, self.registered_name())
        self.generators = nn.ModuleDict({
            "G_A": build_generator_from_spec(self.specs["AtoB"], opts),
            "G_B": build_generator_from_spec(self.specs["BtoA"], opts),
        })
        self.discriminators = nn.ModuleDict({
            "D_A": make_discriminator(opts, cb),  # judges B-domain images
            "D_B": make_discriminator(opts, ca),
        })
        # Identity mapping needs G_A to accept B images: only when channel counts agree.
        self.use_identity = opts.lambda_identity > 0 and ca == cb
        self.adversarial = AdversarialLoss(opts.gan_mode)
        self.cycle = build_loss(opts.cycle_loss)
        self.identity = build_loss("l1")
        self.extra = WeightedTerms(image_terms(opts))
        self.augment = DiffAugment(opts.diff_augment)
        self.pools = {"A": ImagePool(opts.pool_size, seed=train.seed), "B": ImagePool(opts.pool_size, seed=train.seed + 1)}

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        o, g = self.opts, self.generators
        real_a, real_b = batch["A"], batch["B"]
        fake_b, rec_a, fake_a, rec_b = cycle(g["G_A"], g["G_B"], real_a, real_b)
        logs: Dict[str, torch.Tensor] = {}
        gan_a = self._adversarial("D_A", fake_b) * o.lambda_gan
        gan_b = self._adversarial("D_B", fake_a) * o.lambda_gan
        cycle_a = self._cycle_term(rec_a, real_a, batch, "A") * o.lambda_cycle
        cycle_b = self._cycle_term(rec_b, real_b, batch, "B") * o.lambda_cycle
        extra = self.extra(rec_a, real_a, logs, "_A") + self.extra(rec_b, real_b, logs, "_B")
        total = gan_a + gan_b + cycle_a + cycle_b + extra
        if self.use_identity:
            idt_weight = o.lambda_cycle * o.lambda_identity
            idt_a = self._identity_term(g["G_A"](real_b), real_b, batch, "B") * idt_weight
            idt_b = self._identity_term(g["G_B"](real_a), real_a, batch, "A") * idt_weight
            logs.update(idt_A=idt_a.detach(), idt_B=idt_b.detach())
            total = total + idt_a + idt_b
        logs.update(G_A=gan_a.detach(), G_B=gan_b.detach(), cycle_A=cycle_a.detach(), cycle_B=cycle_b.detach())
        fakes = {"fake_B": fake_b.detach(), "fake_A": fake_a.detach(), "rec_A": rec_a.detach(), "rec_B": rec_b.detach()}
        return StepResult(total, logs, fakes)

    # The three terms variants change (the face-swap preset weights them by face masks).
    def _adversarial(self, name: str, fake: torch.Tensor) -> torch.Tensor:
        return self.adversarial.generator_loss(self.discriminators[name](self.for_discriminator(fake)))

    def _cycle_term(self, pred: torch.Tensor, target: torch.Tensor, batch, domain: str) -> torch.Tensor:
        return self.cycle(pred, target)

    def _identity_term(self, pred: torch.Tensor, target: torch.Tensor, batch, domain: str) -> torch.Tensor:
        return self.identity(pred, target)

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        logs: Dict[str, torch.Tensor] = {}
        total = 0.0
        # D_A separates real B from (pooled) G_A(A); D_B real A from G_B(B).
        for d_name, real, fake in (("D_A", batch["B"], self.pools["B"].query(fakes["fake_B"])),
                                   ("D_B", batch["A"], self.pools["A"].query(fakes["fake_A"]))):
            d = self.discriminators[d_name]
            real, fake = self.for_discriminator(real, fake.to(real.dtype))
            loss, _ = self.adversarial.judge(d, real, fake, self.opts.lambda_gp)
            logs[d_name] = loss.detach()
            total = total + loss
        return StepResult(total, logs)

    def visuals(self, batch, fakes):
        return cycle_visuals(batch, fakes)

    def exported(self):
        return {"AtoB": (self.generators["G_A"], self.specs["AtoB"]),
                "BtoA": (self.generators["G_B"], self.specs["BtoA"])}

    def extra_state(self) -> dict:
        return {"pool_A": self.pools["A"].state_dict(), "pool_B": self.pools["B"].state_dict()}

    def load_extra_state(self, state: dict, device: torch.device) -> None:
        self.pools["A"].load_state_dict(state["pool_A"], device)
        self.pools["B"].load_state_dict(state["pool_B"], device)
