"""CUT and FastCUT (Park, Efros, Zhang, Zhu, ECCV 2020): unpaired translation by patchwise contrast.

One generator G: A->B and one discriminator D (judges B images); no inverse network. Instead of
a cycle, PatchNCE (translate/losses/patchnce.py) asks each patch of G(a), seen through G's own
encoder at a few layers and a small MLP per layer (translate/nets/projection.py), to match the
patch of ``a`` at the same place more than the other patches of ``a``::

    Loss_G = lambda_gan * GAN(D(G(a)))
             + lambda_nce * NCE(G(a), a)                           FastCUT, or CUT without nce_idt
             + lambda_nce * (NCE(G(a), a) + NCE(G(b), b)) / 2      CUT: identity NCE on target images
    NCE(y, x) = mean over layers l of PatchNCE(H_l(E_l(y)), H_l(E_l(x)))

FastCUT drops the identity term, weighs NCE x10 and adds flip equivariance: on a random half of
the steps the input is flipped and the output's features flipped back before the comparison.
The paper's settings are the defaults (``mode`` picks CUT or FastCUT: MODES): ResNet-9 with
anti-aliased sampling, 70x70 PatchGAN, LSGAN, xavier init, 256 patches at layers 0, 4, 8, 12, 16
of the reference network (here ``input, down0, down1, block0, block4``), tau 0.07, no image pool.

Differences from the reference worth knowing: the projection heads are built with the networks,
from the widths the generator declares (not on the first batch), so DDP, the optimiser and the
checkpoint see them from the start; the key side of PatchNCE (features of the input, which the
loss detaches) runs without a graph, which the reference builds and throws away.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from translate.config import WEIGHT, ConfigError, Rule, between, one_of
from translate.data.samples import SampleSet
from translate.losses import AdversarialLoss
from translate.losses.patchnce import PatchNCELoss
from translate.losses.diffaugment import DiffAugment
from translate.checkpoint import GeneratorSpec
from translate.nets import init_weights
from translate.nets.projection import PatchProjection, sample_locations
from translate.registry import TRANSLATORS
from translate.translators.base import (NetworkOptions, StepResult, Translator, build_generator_from_spec, domains,
                                        generator_spec, make_discriminator, preprocess_record)
from translate.translators.residual import decide_auto


@dataclass(frozen=True)
class Mode:
    """The NCE settings that make CUT or FastCUT (the paper's Table 1 and its code's defaults)."""

    lambda_nce: float
    nce_idt: bool
    flip_equivariance: bool


MODES: Dict[str, Mode] = {
    "cut": Mode(lambda_nce=1.0, nce_idt=True, flip_equivariance=False),
    "fastcut": Mode(lambda_nce=10.0, nce_idt=False, flip_equivariance=True),
}
# The reference network's layers 0, 4, 8, 12, 16 as this toolkit's ResNet names them; a generator
# without all of them (fewer blocks, a U-Net) uses five spread over its encoder.
PAPER_NCE_LAYERS = ("input", "down0", "down1", "block0", "block4")
# Generators whose down/upsampling can be anti-aliased (translate/nets/antialias.py).
ANTIALIAS_GENERATORS = ("resnet", "resnet_6blocks", "resnet_9blocks")
ANTIALIAS_OPTIONS = {"downsample": "antialias", "upsample": "antialias"}
NCE_IDT_PASSES = ("auto", "separate", "shared")


@dataclass
class CUTOptions(NetworkOptions):
    mode: str = "cut"  # cut | fastcut: the paper's NCE settings (lambda_nce, nce_idt, flip_equivariance)
    init: str = "xavier"  # the reference CUT's initialisation
    lambda_nce: Optional[float] = None  # weight of PatchNCE; None = the mode's (CUT 1, FastCUT 10)
    nce_idt: Optional[bool] = None  # also NCE(G(b), b) on target images; None = the mode's (CUT on)
    flip_equivariance: Optional[bool] = None  # flip-equivariant NCE on half the steps; None = the mode's (FastCUT on)
    # Encoder layers PatchNCE compares: names from the generator's feature layers (`translate
    # models`), or their indices; empty = the paper's (input, down0, down1, block0, block4).
    nce_layers: List[str] = field(default_factory=list)
    num_patches: int = 256  # patches sampled per layer and image
    nce_temperature: float = 0.07  # tau of PatchNCE
    projection_channels: int = 256  # width of the per-layer MLP heads
    nce_negatives_from_batch: bool = False  # negatives from every image of the batch (single-image training)
    # CUT's identity term NCE(G(b), b): in a pass of its own whose gradient is taken before the
    # sources' pass (separate: only one pass's activations alive at a time, the same gradient), or
    # batched with the sources as the reference does (shared). auto: separate, except with batch
    # norm (its statistics span the batch) or fp16 (the trainer's loss scale guards its gradients).
    nce_idt_pass: str = "auto"  # auto | separate | shared
    antialias: Union[bool, str] = "auto"  # anti-aliased down/upsampling in the generator (auto: on for ResNets)
    # Measured on the comic task (tools/BENCHMARKS.md): the paper's plain generator scores 12.9 dB at
    # 600 steps; starting at the colour transfer between the domains (residual, as CycleGAN does)
    # with that map held where it starts scores 20.4 (with the map learning it drifts: 10.7).
    residual: Union[bool, str] = "auto"  # true | false | auto: output = clamp(colour map(input) + network)
    learn_colour_map: bool = False  # the residual colour map learns (true) or stays at the colour transfer

    RULES: ClassVar[Dict[str, Rule]] = {
        "mode": one_of(tuple(MODES)),
        "lambda_nce": WEIGHT,
        "num_patches": between(1, 65536),
        "nce_temperature": between(0, 100, exclude_low=True),
        "projection_channels": between(1, 4096),
        "antialias": one_of((True, False, "auto")),
        "nce_idt_pass": one_of(NCE_IDT_PASSES),
    }
    ARCHITECTURE = NetworkOptions.ARCHITECTURE | frozenset({"nce_layers", "projection_channels", "antialias",
                                                            "lambda_nce"})

    def check(self, train) -> None:
        # Terms NetworkOptions offers that CUT has no pair of images for: applied or refused.
        for key in ("lambda_ssim", "lambda_perceptual", "lambda_feature_matching"):
            if getattr(self, key):
                raise ConfigError(f"config key {key!r} is not applied by cut (it compares an output with its "
                                  f"target, which unpaired data lacks): remove it")
        if self.nce_idt_pass == "separate" and self.norm == "batch":
            raise ConfigError("config key 'nce_idt_pass': separate passes change batch norm's statistics (they "
                              "span the sources and targets together); use nce_idt_pass=shared or another norm")
        if self.nce_idt_pass == "separate" and train.precision == "fp16":
            raise ConfigError("config key 'nce_idt_pass': separate is not available with fp16 (the identity term's "
                              "gradient is taken before the trainer's loss scale applies); use shared or bf16")


def paper_layers(declared: Sequence[str]) -> List[str]:
    """The paper's layers when the generator has them all, else five spread over its encoder
    (all of them when it has five or fewer)."""
    if all(name in declared for name in PAPER_NCE_LAYERS):
        return list(PAPER_NCE_LAYERS)
    if len(declared) <= 5:
        return list(declared)
    step = (len(declared) - 1) / 4
    return [declared[round(i * step)] for i in range(5)]


def resolve_layers(asked: Sequence[str], declared: Sequence[str], generator: str) -> List[str]:
    """``nce_layers`` as names: an index picks the generator's feature layer at that position."""
    if not declared:
        raise ConfigError(f"config key 'generator': {generator} exposes no encoder features, which CUT compares; "
                          f"use a ResNet or U-Net generator")
    if not asked:
        return paper_layers(declared)
    names = []
    for item in asked:
        if str(item).lstrip("-").isdigit():
            index = int(item)
            if not 0 <= index < len(declared):
                raise ConfigError(f"config key 'nce_layers': index {index} is out of range; {generator} has "
                                  f"{len(declared)} feature layers (0-{len(declared) - 1}: {', '.join(declared)})")
            names.append(declared[index])
        elif item in declared:
            names.append(str(item))
        else:
            raise ConfigError(f"config key 'nce_layers': {generator} has no feature layer {item!r} "
                              f"(it has {', '.join(declared)})")
    if len(set(names)) != len(names):
        raise ConfigError(f"config key 'nce_layers' names a layer twice: {', '.join(names)}")
    return names


def layer_shapes(spec: GeneratorSpec, size: int, layers: Sequence[str]) -> List[torch.Size]:
    """The ``C x H x W`` of each of ``layers`` of ``spec``'s generator for a ``size`` crop, found on
    the meta device: shapes only, nothing computed or allocated."""
    with torch.device("meta"):
        generator = spec.build()
        probe = torch.empty(1, spec.in_channels, size, size)
        return [f.shape[1:] for f in generator.encode(probe, layers)]


@TRANSLATORS.register("cut")
class CUT(Translator):
    """Unpaired A->B translation with one generator and PatchNCE: CUT / FastCUT (Park et al. 2020)."""

    Options = CUTOptions
    applies_diff_augment = True
    data_kind = "unpaired"

    @classmethod
    def prepare(cls, opts: CUTOptions, train, samples: SampleSet) -> CUTOptions:
        """The mode's values for the keys left at None, the layers as names, antialias and
        residual decided: config.yaml records what the run trains with."""
        mode = MODES[opts.mode]
        opts = replace(
            opts,
            lambda_nce=mode.lambda_nce if opts.lambda_nce is None else opts.lambda_nce,
            nce_idt=mode.nce_idt if opts.nce_idt is None else opts.nce_idt,
            flip_equivariance=mode.flip_equivariance if opts.flip_equivariance is None else opts.flip_equivariance,
            antialias=_antialias(opts), generator_options=_generator_options(opts),
        )
        c_in, c_out = cls._channels(train)
        opts = replace(opts, residual=decide_auto(opts.residual, opts.generator, c_in, c_out))
        spec = generator_spec(opts, c_in, c_out, cls.registered_name(), train.direction, {})
        with torch.device("meta"):
            declared = spec.build().feature_layers
        layers = resolve_layers(opts.nce_layers, declared, opts.generator)
        check_patches(layers, layer_shapes(spec, train.size, layers), opts.num_patches, train.size)
        return replace(opts, nce_layers=layers)

    @staticmethod
    def _channels(train) -> Tuple[int, int]:
        pair = (train.channels_a, train.channels_b)
        return pair if train.direction == "AtoB" else pair[::-1]

    def __init__(self, opts: CUTOptions, train):
        self.opts = opts
        self.direction = train.direction
        if opts.lambda_nce is None or opts.nce_idt is None or opts.flip_equivariance is None:
            opts = self.opts = type(self).prepare(opts, train, SampleSet(lambda: None, 0))
        c_in, c_out = self._channels(train)
        self.spec = generator_spec(opts, c_in, c_out, self.registered_name(), self.direction, preprocess_record(train))
        generator = build_generator_from_spec(self.spec, opts)
        self.layers = resolve_layers(opts.nce_layers, generator.feature_layers, opts.generator)
        self.generators = nn.ModuleDict({"G": generator})
        if opts.lambda_nce > 0:  # no heads without NCE: DDP refuses parameters that get no gradient
            widths = [shape[0] for shape in layer_shapes(self.spec, generator.size_multiple * 8, self.layers)]
            heads = PatchProjection(widths, opts.projection_channels)
            self.generators["F"] = init_weights(heads, kind=opts.init, gain=opts.init_gain)
        self.discriminators = nn.ModuleDict({"D": make_discriminator(opts, c_out)})
        self.adversarial = AdversarialLoss(opts.gan_mode)
        self.nce = PatchNCELoss(opts.nce_temperature, opts.nce_negatives_from_batch)
        self.augment = DiffAugment(opts.diff_augment)
        # Patch locations and flips come from their own generator, saved with the run (exact resume).
        self.rng = torch.Generator().manual_seed(train.seed + 104729)

    def _pair(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        source, target = domains(self.direction)
        return batch[source], batch[target]

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        o = self.opts
        real_a, real_b = self._pair(batch)
        count = real_a.shape[0]
        flipped = o.flip_equivariance and bool(torch.rand((), generator=self.rng) < 0.5)
        apart = o.nce_idt and o.lambda_nce > 0 and self._identity_apart(real_b)
        identity = self._identity_gradient(real_b, flipped) if apart else None
        # CUT's identity term, when it shares the pass, translates the targets with the sources
        # (instance norm and the reference's batch of two alike).
        real = torch.cat([real_a, real_b]) if o.nce_idt and not apart else real_a
        fake, source_features = self._translate(real, flipped)
        fake_b = fake[:count]
        gan = self.adversarial.generator_loss(self.discriminators["D"](self.for_discriminator(fake_b))) * o.lambda_gan
        logs: Dict[str, torch.Tensor] = {"G_gan": gan.detach()}
        total = gan
        fakes = {"fake": fake_b.detach()}
        if o.nce_idt:
            fakes["identity"] = identity.fake if identity is not None else fake[count:].detach()
        if o.lambda_nce > 0:
            locations = identity.locations if identity is not None else None
            nce_x, nce_y, _ = self._patch_nce(real, fake, flipped, count, source_features, locations)
            logs["NCE"] = nce_x.detach()
            if identity is not None:  # its gradient is carried in; its value makes the total the shared pass's
                nce_y = identity.nce
                total = total + identity.carrier
            if nce_y is not None:
                logs["NCE_idt"] = nce_y.detach()
                nce_x = (nce_x + nce_y) * 0.5
            total = total + nce_x * o.lambda_nce
        return StepResult(total, logs, fakes)

    def _identity_apart(self, targets: torch.Tensor) -> bool:
        """Whether the identity term gets a pass of its own this step (``nce_idt_pass``)."""
        o = self.opts
        if o.nce_idt_pass == "shared" or not torch.is_grad_enabled():
            return False
        device = targets.device.type
        fp16 = torch.is_autocast_enabled(device) and torch.get_autocast_dtype(device) == torch.float16
        if o.nce_idt_pass == "separate":
            if fp16:
                raise ConfigError("config key 'nce_idt_pass': separate is not available with fp16 (the identity "
                                  "term's gradient is taken before the trainer's loss scale applies); use shared")
            return True
        return not fp16 and o.norm != "batch"

    def _identity_gradient(self, targets: torch.Tensor, flipped: bool) -> "_Identity":
        """CUT's identity term NCE(G(b), b) in a pass of its own, differentiated at once so that
        its activations are freed before the sources' pass builds its own: the step's peak is one
        pass's, not two. The gradient returns as a carrier, a term worth 0 whose gradient with
        respect to each weight is that weight's identity gradient, so the trainer's single
        backward (and DDP's one all-reduce) sees the same gradient as the shared pass gives."""
        fake, features = self._translate(targets, flipped)
        nce, _, locations = self._patch_nce(targets, fake, flipped, targets.shape[0], features)
        weights = [w for w in self.generators.parameters() if w.requires_grad]
        grads = torch.autograd.grad(nce * (0.5 * self.opts.lambda_nce), weights, allow_unused=True)
        # (w - w.detach()) is 0 with gradient 1: the product's gradient is g, its value 0.
        carrier = sum(((w - w.detach()) * g).sum() for w, g in zip(weights, grads) if g is not None)
        return _Identity(nce.detach(), fake.detach(), locations, carrier)

    def _translate(self, real: torch.Tensor, flipped: bool) -> Tuple[torch.Tensor, Optional[List[torch.Tensor]]]:
        """G's output, and PatchNCE's keys where the same pass gives them: an unflipped pass over
        the sources also gives their features; a flipped one saw the mirrored sources, so the keys
        get their own pass later."""
        g = self.generators["G"]
        if self.opts.lambda_nce > 0 and not flipped:
            return g.forward_with_features(real, self.layers)
        return g(real.flip(3) if flipped else real), None

    def _patch_nce(self, sources: torch.Tensor, outputs: torch.Tensor, flipped: bool, count: int,
                   source_features: Optional[List[torch.Tensor]] = None, locations: Optional[List[torch.Tensor]] = None,
                   ) -> Tuple[torch.Tensor, Optional[torch.Tensor], List[torch.Tensor]]:
        """Mean PatchNCE over the layers, of the first ``count`` outputs against their sources and,
        when more were translated (CUT's identity term), of the rest against theirs; and the patch
        locations (drawn here unless given). The keys are ``source_features`` (from the translating
        pass) where given, else the sources encoded."""
        g, heads = self.generators["G"], self.generators["F"]
        queries = g.encode(outputs, self.layers)
        if flipped:  # the output of a flipped input, flipped back: equivariance is what is compared
            queries = [q.flip(3) for q in queries]
        if source_features is not None:  # the loss detaches the keys: no gradient through them
            keys = [feature.detach() for feature in source_features]
        else:
            with torch.no_grad():
                keys = g.encode(sources, self.layers)
        if locations is None:
            locations = sample_locations(keys, self.opts.num_patches, self.rng)
        queries = heads(queries, locations)
        with torch.no_grad():
            keys = heads(keys, locations)
        per_layer = [(self.nce(q[:count], k[:count]), self.nce(q[count:], k[count:]) if q.shape[0] > count else None)
                     for q, k in zip(queries, keys)]
        nce_x = torch.stack([x for x, _ in per_layer]).mean()
        nce_y = None if per_layer[0][1] is None else torch.stack([y for _, y in per_layer]).mean()
        return nce_x, nce_y, locations

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        _, real_b = self._pair(batch)
        real, fake = self.for_discriminator(real_b, fakes["fake"].to(real_b.dtype))
        loss, gp = self.adversarial.judge(self.discriminators["D"], real, fake, self.opts.lambda_gp)
        logs = {"D": loss.detach()} if gp is None else {"D": loss.detach(), "D_gp": gp.detach()}
        return StepResult(loss, logs)

    def visuals(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        real_a, real_b = self._pair(batch)
        shown = {"input": real_a, "output": fakes["fake"], "target": real_b}
        if "identity" in fakes:
            shown["identity"] = fakes["identity"]
        return shown

    def exported(self):
        return {self.direction: (self.generators["G"], self.spec)}

    def extra_state(self) -> Dict[str, Any]:
        return {"rng": self.rng.get_state()}

    def load_extra_state(self, state: Dict[str, Any], device: torch.device) -> None:
        self.rng.set_state(state["rng"])


@dataclass
class _Identity:
    """CUT's identity term from its own pass: its value, its output image, the patch locations the
    sources' pass reuses, and the carrier of its gradient."""

    nce: torch.Tensor
    fake: torch.Tensor
    locations: List[torch.Tensor]
    carrier: torch.Tensor


def _antialias(opts: CUTOptions) -> bool:
    """``antialias`` decided: auto is on for the ResNet generators; true elsewhere is refused."""
    if opts.antialias == "auto":
        return opts.generator in ANTIALIAS_GENERATORS
    if opts.antialias and opts.generator not in ANTIALIAS_GENERATORS:
        raise ConfigError(f"config key 'antialias' needs a ResNet generator ({', '.join(ANTIALIAS_GENERATORS)}), "
                          f"not {opts.generator!r}; set antialias=false")
    return bool(opts.antialias)


def _generator_options(opts: CUTOptions) -> Dict[str, Any]:
    """The generator options with the anti-aliased sampling ``antialias`` asks for; the user's
    own ``generator_options`` win over it (``{upsample: transpose}`` keeps transposed convs)."""
    if not _antialias(opts):
        return dict(opts.generator_options)
    return {**ANTIALIAS_OPTIONS, **opts.generator_options}


def check_patches(layers: Sequence[str], shapes: Sequence[torch.Size], count: int, size: int) -> None:
    """Refuse a crop whose feature maps hold fewer locations than the patches asked for: the
    reference quietly takes every location there, so NCE compares fewer, larger patches than set."""
    for name, shape in zip(layers, shapes):
        locations = int(shape[1]) * int(shape[2])
        if locations < count:
            raise ConfigError(f"config key 'num_patches' is {count} but layer {name!r} is {shape[1]}x{shape[2]} "
                              f"({locations} locations) at --size {size}: lower num_patches to {locations} or "
                              f"less, raise --size, or choose other nce_layers")
