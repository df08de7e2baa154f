"""pix2pixHD (Wang et al. 2018): high-resolution paired translation from label maps or images.

G maps a condition (one-hot label map + instance-boundary channel, or an RGB image such as a
pose stick figure) to a photo; a multi-scale PatchGAN D judges (condition, photo) pairs.
Loss_G = GAN_lsgan(D(c, G(c))) summed over scales + 10 * feature matching (L1 between D's
intermediate features of real and fake) + 10 * VGG19 perceptual; Loss_D = LSGAN, halved.
Preset: global generator (ngf 64, 4 downsamplings, 9 blocks, instance norm), 2-scale 3-layer
D with instance norm, Adam 2e-4 (beta1 0.5).

High resolution comes in two stages (see ``translate train-hd``): the global generator at half
resolution, then ``generator=pix2pixhd_local`` initialised from it (``global_weights``) with the
global part frozen for ``fix_global_steps`` steps. ``ngf`` is the global generator's width in
both stages, so the weights always fit: the local enhancer is ``ngf / 2**n_local_enhancers`` wide.

Feature encoder (``features=instance`` or ``label``, pix2pixHD's --instance_feat / --label_feat):
E encodes the real photo into a few channels averaged over each object; G reads them after the
condition, D does not. E trains with G; its codes of the latest steps are clustered per label when
the run saves and travel in G's file, so apply paints an object with the cluster chosen for its
label (``translate apply --features 26=3``; see ``translate.data.feature_clusters``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, FrozenSet, List, Optional

import torch
from torch import nn

from translate.checkpoint import GeneratorSpec
from translate.config import COUNT, WIDTH, ConfigError, Rule, between, one_of
from translate.data.hd_pairs import INPUT_KINDS, HDPairedDataset, find_hd_sources
from translate.data.samples import SampleSet
from translate.data.feature_clusters import FeatureBank
from translate.data.labels import colorize, encode_labels, input_channels, scan_labels
from translate.losses import AdversarialLoss, FeatureMatchingLoss
from translate.nets import init_weights, set_requires_grad
from translate.nets.instance_features import InstanceFeatureEncoder
from translate.nets.pix2pixhd import GlobalGenerator, LocalEnhancer
from translate.registry import TRANSLATORS
from translate.translators.base import (NetworkOptions, StepResult, Translator, WarmStart, build_generator_from_spec,
                                        generator_spec, preprocess_config,
                                        make_discriminator, preprocess_record)
from translate.translators.terms import WeightedTerms, image_terms, predictions


FEATURE_KINDS = ("none", "instance", "label")  # pix2pixHD's off, --instance_feat, --label_feat


@dataclass
class Pix2PixHDOptions(NetworkOptions):
    generator: str = "pix2pixhd_global"  # pix2pixhd_global | pix2pixhd_local | any generator of the zoo
    discriminator: str = "multiscale"
    num_scales: int = 2  # pix2pixHD uses 3 for the local (1024p) stage
    gan_mode: str = "lsgan"
    lambda_feature_matching: float = 10.0
    lambda_perceptual: float = 10.0  # needs VGG19 weights (vgg19-dcbb9e9d.pth); 0 switches it off
    input: str = "label"  # label (integer label maps) | rgb (edges, poses, sketches)
    num_classes: Optional[int] = None  # label input: N; None = max id in the training labels + 1
    instance_maps: Optional[bool] = None  # add the instance-boundary channel; None = when train_inst/ exists
    n_downsample_global: int = 4  # stride-2 levels of the global generator G1
    n_blocks_global: int = 9  # residual blocks of G1
    n_local_enhancers: int = 1  # local enhancers G2 around G1 (each doubles the resolution)
    n_blocks_local: int = 3  # residual blocks per local enhancer
    global_weights: Optional[str] = None  # local generator: a trained global checkpoint to start from
    fix_global_steps: int = 0  # local generator: steps during which the global part stays frozen
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, more time
    # pix2pixHD's feature encoder (section 3.4, translate.nets.instance_features): a style code per
    # object, clustered per label when the run saves and chosen per label at apply (--features).
    features: str = "none"  # none | instance (one code per object of the instance map) | label (per label region)
    feature_channels: int = 3  # length of each code (pix2pixHD's feat_num)
    feature_width: int = 16  # encoder width (pix2pixHD's nef)
    n_downsample_features: int = 4  # encoder depth (pix2pixHD's n_downsample_E)
    feature_clusters: int = 10  # k-means clusters per label (pix2pixHD's n_clusters)
    feature_bank: int = 1024  # latest codes kept per label for clustering

    # global_weights is a path, opened (and checked) by the training loop.
    RULES: ClassVar[Dict[str, Rule]] = {
        "input": one_of(INPUT_KINDS),
        "num_classes": between(1, WIDTH.high),  # one input channel per class
        "n_downsample_global": between(1, 10),
        "n_blocks_global": between(0, 100),
        "n_local_enhancers": between(1, 4),
        "n_blocks_local": between(0, 100),
        "fix_global_steps": COUNT,
        "features": one_of(FEATURE_KINDS),
        "feature_channels": between(1, 64),
        "feature_width": WIDTH,
        "n_downsample_features": between(1, 8),
        "feature_clusters": between(1, 1000),
        "feature_bank": between(1, 1_000_000),
    }
    ARCHITECTURE: ClassVar[FrozenSet[str]] = frozenset({
        "input", "num_classes", "instance_maps", "n_downsample_global", "n_blocks_global", "n_local_enhancers",
        "n_blocks_local", "features", "feature_channels", "feature_width", "n_downsample_features"})


def _global_kwargs(o: Pix2PixHDOptions) -> Dict[str, Any]:
    return {"ngf": o.ngf, "n_downsampling": o.n_downsample_global, "n_blocks": o.n_blocks_global}


def _local_kwargs(o: Pix2PixHDOptions) -> Dict[str, Any]:
    scale = 2**o.n_local_enhancers
    if o.ngf % scale:
        raise ConfigError(f"config key 'ngf' ({o.ngf}) must divide by 2**n_local_enhancers ({scale}): ngf is the "
                          f"global generator's width and each enhancer halves it")
    return {"ngf": o.ngf // scale, "n_downsampling": o.n_downsample_global, "n_blocks": o.n_blocks_global,
            "n_enhancers": o.n_local_enhancers, "n_blocks_local": o.n_blocks_local}


# How the translator's flat options become builder arguments, per pix2pixHD generator.
_HD_GENERATOR_KWARGS: Dict[str, Callable[[Pix2PixHDOptions], Dict[str, Any]]] = {
    "pix2pixhd_global": _global_kwargs,
    "pix2pixhd_local": _local_kwargs,
}


def resolve_inputs(opts: Pix2PixHDOptions, train) -> Pix2PixHDOptions:
    """``opts`` with ``num_classes`` and ``instance_maps`` filled in from the training data.

    The loop saves the result in config.yaml, so a resumed run (or the local stage) builds
    exactly the same network. Also reads every training label map, so an id >= num_classes
    stops the run before it starts.
    """
    if opts.input not in INPUT_KINDS:
        raise ConfigError(f"config key 'input' must be one of {', '.join(INPUT_KINDS)}; got {opts.input!r}")
    if opts.input != "label":
        return opts
    sources = find_hd_sources(train.data, "train", "label") if train.data else None
    if sources is None:
        if opts.num_classes is None:
            raise ConfigError("config key 'num_classes' is not set and there is no --data to infer it from")
        return dataclasses.replace(opts, instance_maps=bool(opts.instance_maps))
    instance_maps = sources.has_instances if opts.instance_maps is None else opts.instance_maps
    labels = [item.input for item in sources.items]
    found = scan_labels(labels)
    num_classes = found if opts.num_classes is None else opts.num_classes
    if found > num_classes:
        scan_labels(labels, num_classes)  # raises, naming the first file with a too-large id
    if num_classes < 1:
        raise ConfigError(f"config key 'num_classes' must be at least 1; got {num_classes}")
    return dataclasses.replace(opts, num_classes=num_classes, instance_maps=instance_maps)


def _input_record(opts: Pix2PixHDOptions, channels: int) -> Dict[str, Any]:
    """What ``apply`` needs to encode a file the way training did (see translate.apply.inputs)."""
    if opts.input == "label":
        record = {"input": "label", "num_classes": opts.num_classes, "instance_maps": bool(opts.instance_maps)}
        if opts.features != "none":  # the clusters are filled in when the run saves (exported)
            record["features"] = {"channels": opts.feature_channels, "per": opts.features, "clusters": {}}
        return record
    return {"input": "rgb", "channels": channels}


def _condition_channels(opts: Pix2PixHDOptions, train) -> int:
    """What D judges beside the photo, and G reads before the feature codes."""
    return input_channels(opts.num_classes, opts.instance_maps) if opts.input == "label" else train.channels_a


def _check_features(opts: Pix2PixHDOptions) -> None:
    if opts.features == "none":
        return
    if opts.input != "label":
        raise ConfigError(f"config key 'features' ({opts.features}) needs input=label: the codes are averaged "
                          f"over the objects of label and instance maps")
    if opts.features == "instance" and not opts.instance_maps:
        raise ConfigError("config key 'features' is 'instance' but the run has no instance maps (train_inst/): "
                          "use features=label for one code per label region")


@TRANSLATORS.register("pix2pixhd")
class Pix2PixHD(Translator):
    """High-resolution paired translation from label maps or images: global/local generators, multi-scale D (Wang et al. 2018)."""

    Options = Pix2PixHDOptions
    data_kind = "paired"

    def __init__(self, opts: Pix2PixHDOptions, train):
        self.opts = self._checked(opts, train)
        _check_features(self.opts)
        self.spec = self._generator_spec(self.opts, train)
        generator = build_generator_from_spec(self.spec, self.opts)
        self.generators = nn.ModuleDict({"G": generator})
        self.bank: Optional[FeatureBank] = None
        if self.opts.features != "none":
            o = self.opts
            # E trains with G (one optimiser, as in pix2pixHD); it is not exported: apply reads codes
            # from the clusters saved with G.
            self.generators["E"] = init_weights(
                InstanceFeatureEncoder(train.channels_b, o.feature_channels, o.feature_width, o.n_downsample_features,
                                       o.norm), kind=o.init, gain=o.init_gain)
            self.bank = FeatureBank(o.num_classes, o.feature_channels, o.feature_bank)
        self.discriminators = nn.ModuleDict({"D": make_discriminator(self.opts, self._discriminator_channels())})
        self.adversarial = AdversarialLoss(self.opts.gan_mode)
        self.feature_matching = FeatureMatchingLoss() if self.opts.lambda_feature_matching else None
        # pix2pixHD's VGG term is pix2pix's optional perceptual term at weight 10.
        self.extra = WeightedTerms(image_terms(self.opts))
        self.global_frozen = False
        if self.opts.global_weights or self.opts.fix_global_steps:
            self._prepare_global(generator)

    @classmethod
    def _checked(cls, opts: Pix2PixHDOptions, train) -> Pix2PixHDOptions:
        """``opts`` refused where they do not fit this translator, completed where the loop's
        ``prepare`` did not run (tests, tools)."""
        if train.direction != "AtoB":
            raise ConfigError("pix2pixhd translates condition (A) -> photo (B); swap the folders instead of "
                              "setting direction")
        if opts.input not in INPUT_KINDS or (opts.input == "label" and opts.num_classes is None):
            opts = resolve_inputs(opts, train)
        return opts

    @classmethod
    def _generator_spec(cls, opts: Pix2PixHDOptions, train) -> GeneratorSpec:
        c_in = _condition_channels(opts, train) + (opts.feature_channels if opts.features != "none" else 0)
        return cls._spec(opts, c_in, train.channels_b, {**preprocess_record(train), **_input_record(opts, c_in)})

    def _discriminator_channels(self) -> int:
        """D judges (condition, photo) pairs: the feature codes are G's alone, as in pix2pixHD."""
        codes = self.opts.feature_channels if self.opts.features != "none" else 0
        return self.spec.in_channels - codes + self.spec.out_channels

    @classmethod
    def prepare(cls, opts: Pix2PixHDOptions, train, samples: SampleSet) -> Pix2PixHDOptions:
        return resolve_inputs(opts, train)

    @classmethod
    def _spec(cls, opts: Pix2PixHDOptions, c_in: int, c_out: int, preprocess: Dict[str, Any]) -> GeneratorSpec:
        spec = generator_spec(opts, c_in, c_out, cls.registered_name(), "AtoB", preprocess)
        hd_kwargs = _HD_GENERATOR_KWARGS.get(opts.generator)
        if hd_kwargs is not None:
            spec.kwargs = {"norm": opts.norm, **({"padding": opts.padding} if opts.padding else {}),
                           **hd_kwargs(opts), **opts.generator_options}
        return spec

    def _prepare_global(self, generator: nn.Module) -> None:
        if not isinstance(generator, LocalEnhancer):
            raise ConfigError("config keys 'global_weights' and 'fix_global_steps' need generator=pix2pixhd_local")
        if self.opts.fix_global_steps > 0:
            # Frozen from construction, so the frozen trunk is skipped by backward and by Adam (its
            # moments start fresh when it thaws, like pix2pixHD's new optimiser at niter_fix_global).
            set_requires_grad(generator.global_trunk, False)
            self.global_frozen = True

    def warm_starts(self) -> List[WarmStart]:
        if not self.opts.global_weights:
            return []
        return [WarmStart(self.opts.global_weights, self._load_global)]

    def _load_global(self, source: nn.Module, spec: GeneratorSpec) -> None:
        if not isinstance(source, GlobalGenerator):
            raise ConfigError(f"{self.opts.global_weights}: holds a {spec.architecture} generator, not pix2pixhd_global")
        try:
            self.generators["G"].load_global(source)
        except ValueError as exc:
            raise ConfigError(f"{self.opts.global_weights}: {exc}") from None

    def before_step(self, step: int) -> None:
        if not (self.global_frozen and step >= self.opts.fix_global_steps):
            return
        set_requires_grad(self.generators["G"].global_trunk, True)
        self.global_frozen = False

    def condition(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The generator's input: one-hot labels (+ instance edges), or the RGB condition image."""
        if self.opts.input == "rgb":
            return batch["A"]
        return encode_labels(batch["A"], self.opts.num_classes, batch.get("inst") if self.opts.instance_maps else None)

    def generator_input(self, batch: Dict[str, torch.Tensor], cond: torch.Tensor) -> torch.Tensor:
        """The condition, with the feature encoder's per-object codes of the real photo when the
        run has them (each batch's codes also go to the bank that is clustered at saves)."""
        if self.bank is None:
            return cond
        objects = batch["inst"] if self.opts.features == "instance" else batch["A"]
        codes = self.generators["E"](batch["B"], objects)
        self.bank.add(codes.detach(), batch["A"], objects)
        return torch.cat([cond, codes.to(cond.dtype)], 1)

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        o, d = self.opts, self.discriminators["D"]
        cond, real = self.condition(batch), batch["B"]
        fake = self.generators["G"](self.generator_input(batch, cond))
        fake_features = d.forward_features(torch.cat([cond, fake], 1))
        logs: Dict[str, torch.Tensor] = {}
        gan = self.adversarial.generator_loss(predictions(fake_features)) * o.lambda_gan
        total = gan
        if self.feature_matching is not None:
            with torch.no_grad():
                real_features = d.forward_features(torch.cat([cond, real], 1))
            fm = self.feature_matching(real_features, fake_features) * o.lambda_feature_matching
            logs["G_fm"] = fm.detach()
            total = total + fm
        total = total + self.extra(fake, real, logs)
        logs["G_gan"] = gan.detach()
        return StepResult(total, logs, {"fake": fake.detach(), "input": cond})

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        d, cond = self.discriminators["D"], fakes["input"]
        real_pair = torch.cat([cond, batch["B"]], 1)
        fake_pair = torch.cat([cond, fakes["fake"].to(real_pair.dtype)], 1)
        loss, gp = self.adversarial.judge(d, real_pair, fake_pair, self.opts.lambda_gp)
        logs = {"D": loss.detach()} if gp is None else {"D": loss.detach(), "D_gp": gp.detach()}
        return StepResult(loss, logs)

    def visuals(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        shown = batch["A"] if self.opts.input == "rgb" else colorize(batch["A"], self.opts.num_classes)
        return {"input": shown, "output": fakes["fake"], "target": batch["B"]}

    def exported(self):
        spec = self.spec
        if self.bank is not None:
            clusters = self.bank.cluster(self.opts.feature_clusters)
            record = {**spec.preprocess["features"], **clusters.to_record()}
            spec = dataclasses.replace(spec, preprocess={**spec.preprocess, "features": record})
        return {"AtoB": (self.generators["G"], spec)}

    def extra_state(self) -> Dict[str, Any]:
        return {"feature_bank": self.bank.state_dict()} if self.bank is not None else {}

    def load_extra_state(self, state: Dict[str, Any], device: torch.device) -> None:
        if self.bank is not None and "feature_bank" in state:
            self.bank.load_state_dict(state["feature_bank"])

    @classmethod
    def build_dataset(cls, run, split: str = "train") -> HDPairedDataset:
        opts, t = run.model, run.train
        if opts.input == "label" and opts.num_classes is None:  # built without the loop's prepare() (tools)
            opts = resolve_inputs(opts, t)
        sources = find_hd_sources(t.data, split, opts.input)
        c_in = _condition_channels(opts, t)
        with torch.device("meta"):  # the multiple without allocating the network
            multiple = cls._spec(opts, c_in, t.channels_b, {}).build().size_multiple
        if opts.features != "none":  # the feature encoder halves the crop n_downsample_features times
            multiple = math.lcm(multiple, 2**opts.n_downsample_features)
        pre = preprocess_config(t)
        return HDPairedDataset(sources, opts.input, pre, train=True, num_classes=opts.num_classes,
                               instance_maps=bool(opts.instance_maps), channels_a=t.channels_a,
                               channels_b=t.channels_b, size_multiple=multiple, seed=t.seed)
