"""What a translator is: networks plus a generator step and a discriminator step.

A translator never loops, moves data between devices, steps optimisers, opens or
writes files: ``translate.training.loop`` owns all of that, so pix2pix and CycleGAN
differ only in their translator file. The contract is the ``Translator`` class
below: every hook the loop calls is declared there with its default, so a
translator overrides only what it changes and the loop never probes with getattr.
Likewise what a generator can do (gradient checkpointing, a residual head) is declared
on its class (``translate.nets.contract.Generator``), never probed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, FrozenSet, List, Optional, Tuple, Union

import torch
from torch import nn

from translate.checkpoint import GeneratorSpec
from translate.config import WEIGHT, WIDTH, CheckedOptions, Rule, between, one_of
from translate.data import PairedDataset, PreprocessConfig, UnpairedDataset, detect_layout
from translate.data.samples import SampleSet
from translate.errors import TranslateError
from translate.losses.adversarial import ADVERSARIAL_MODES
from translate.losses.diffaugment import DiffAugment
from translate.nets import build_discriminator, init_weights
from translate.nets.layers import init_names, norm_names, padding_names
from translate.registry import DISCRIMINATORS, GENERATORS, TRANSLATORS
from translate.builder_options import check_user_options
from translate.nets.contract import Generator
from translate.nets.generators import ResidualOutput, zero_network_output
from translate.translators.residual import residual_wanted


@dataclass
class StepResult:
    loss: torch.Tensor
    logs: Dict[str, torch.Tensor] = field(default_factory=dict)  # detached scalars for the progress bar
    fakes: Dict[str, torch.Tensor] = field(default_factory=dict)  # detached images for the D step / visuals


class DataKindError(TranslateError, ValueError):
    """The data folder holds paired data for an unpaired translator, or the other way round."""


DATASETS = {"paired": PairedDataset, "unpaired": UnpairedDataset}
DEFAULT_MEMORY_HINT = ("lower --batch-size or --size, use --precision bf16 (or fp16 on CUDA), "
                       "or narrower networks (--set ngf=32 --set ndf=32)")


@dataclass
class WarmStart:
    """Weights a fresh run starts from: the loop opens ``source`` and hands the generator to ``load``.

    ``load`` raises ``ConfigError`` when the weights do not fit; it is not called on ``--resume``
    (the training state already holds every weight).
    """

    source: str
    load: Callable[[nn.Module, GeneratorSpec], None]
    direction: Optional[str] = None


def preprocess_config(train) -> PreprocessConfig:
    """How training images are loaded and augmented: the one place that reads it from the config."""
    return PreprocessConfig(mode=train.preprocess, load_size=train.load_size, crop_size=train.size, flip=train.flip)


def domains(direction: str) -> Tuple[str, str]:
    """The (source, target) domain keys of a batch for a direction: AtoB -> ("A", "B")."""
    return ("A", "B") if direction == "AtoB" else ("B", "A")


def open_dataset(kind: str, train, translator: str, split: str = "train"):
    """The ``kind`` ("paired" or "unpaired") dataset of ``train.data``, loaded and augmented as
    training loads it; one line when the folder holds the other kind."""
    layout = detect_layout(train.data, split)
    found = "unpaired" if layout == "unpaired" else "paired"
    if found != kind:
        raise DataKindError(f"{train.data}: holds {found} data ({layout.replace('_', ' ')}), but {translator} "
                            f"trains on {kind} data")
    return DATASETS[kind](train.data, split=split, preprocess=preprocess_config(train), train=True,
                          channels_a=train.channels_a, channels_b=train.channels_b, seed=train.seed)


class Translator:
    """The contract between a translator and the training loop, with every hook's default.

    Required: ``Options`` (a dataclass whose defaults are the paper's preset), ``__init__(opts,
    train)`` building ``generators`` / ``discriminators`` (``nn.ModuleDict``s, one Adam each),
    ``generator_loss(batch)`` and ``discriminator_loss(batch, fakes)`` (run under autocast), and
    ``exported()`` (the generators ``apply`` can use, keyed by direction).
    """

    Options: ClassVar[type]
    opts: Any  # an instance of Options, set by __init__
    data_kind: ClassVar[str] = "paired"  # "paired" or "unpaired": which dataset it trains on
    # Config values this translator trains with unless the user sets them (below YAML, flags and --set).
    train_defaults: ClassVar[Dict[str, Any]] = {}
    memory_hint: str = DEFAULT_MEMORY_HINT  # what to lower when a step runs out of memory

    generators: nn.ModuleDict
    discriminators: nn.ModuleDict
    # DiffAugment before every discriminator call (opts.diff_augment); off unless a translator sets it.
    augment: DiffAugment = DiffAugment("")
    # Whether its discriminator steps go through for_discriminator: the loop refuses diff_augment
    # for translators that would ignore it (a setting is applied or refused).
    applies_diff_augment: ClassVar[bool] = False

    @classmethod
    def registered_name(cls) -> str:
        """The name this class is registered under (its ``@TRANSLATORS.register`` line): what its
        generator specs and messages say, written once."""
        return TRANSLATORS.name_of(cls)

    def for_discriminator(self, *images: torch.Tensor):
        """What the discriminator sees: ``images`` through DiffAugment, one draw shared by all of
        them (the real and fake of one step), or unchanged when it is off."""
        return self.augment(*images)

    def start_from_data(self, samples: SampleSet) -> None:
        """Data-derived starting values for a fresh run, from a few training items (``samples``,
        the same ones ``prepare`` was handed: read once, by whichever asks first). Called once
        before step 1 and before the EMA copy is taken; not on ``--resume``, whose training state
        already holds them. Default: every exported residual generator's colour map starts fitted
        on a few training items (``fit_colour_map``): least squares on pairs, so a paired run begins
        at least as good as returning the input; the colour transfer between the two domains when
        the data is unpaired (ResidualOutput.start_from / start_from_unpaired)."""
        heads = {direction: head for direction, head in self._colour_map_heads().items() if head.input_map}
        # Only NetworkOptions build residual generators, so a translator with heads has fit_colour_map.
        if not heads or not self.opts.fit_colour_map:
            return
        batch = samples.items()
        for direction, head in heads.items():
            source, target = domains(direction)
            fit = head.start_from if self.data_kind == "paired" else head.start_from_unpaired
            fit(batch[source], batch[target])

    def _colour_map_heads(self) -> Dict[str, ResidualOutput]:
        """The residual heads of the exported generators, by direction."""
        heads = {direction: generator.residual_output() for direction, (generator, _) in self.exported().items()}
        return {direction: head for direction, head in heads.items() if head is not None}

    @classmethod
    def prepare(cls, opts: Any, train, samples: SampleSet) -> Any:
        """Options completed from the data before the networks are built (a new object, never in place).
        ``samples``: a few training items, read only if asked for (``samples.items()``), from the
        dataset as these options open it; ``start_from_data`` gets the same items."""
        return opts

    @classmethod
    def build_dataset(cls, run, split: str = "train"):
        """The training dataset; by default the paired or unpaired dataset ``data_kind`` names."""
        return open_dataset(cls.data_kind, run.train, run.translator, split)

    def optimizer_options(self) -> Dict[str, Any]:
        """Extra Adam arguments for both optimisers (DiscoGAN: weight decay)."""
        return {}

    def warm_starts(self) -> List[WarmStart]:
        """Weights a fresh run loads before its first step (pix2pixHD's local stage, the face stage)."""
        return []

    def before_step(self, step: int) -> None:
        """Called before each optimisation step (schedules that change the networks or the terms)."""

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> "StepResult":
        raise NotImplementedError

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> "StepResult":
        raise NotImplementedError

    def visuals(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Images for the sample grids: by default the batch's A, the fake, and B."""
        return {"input": batch["A"], "output": fakes["fake"], "target": batch["B"]}

    def exported(self) -> Dict[str, Tuple[nn.Module, GeneratorSpec]]:
        raise NotImplementedError

    def extra_state(self) -> Dict[str, Any]:
        """State beyond the networks that a resume needs (CycleGAN's image pool)."""
        return {}

    def load_extra_state(self, state: Dict[str, Any], device: torch.device) -> None:
        """Restore what ``extra_state`` returned."""


@dataclass
class NetworkOptions(CheckedOptions):
    """Network and loss options common to the image-to-image translators."""

    generator: str = "resnet_9blocks"  # any name from `translate models`
    ngf: int = 64  # generator width (filters in the first layer)
    norm: str = "instance"  # batch | instance | none
    dropout: bool = False  # dropout in the generator (U-Net middle levels, ResNet blocks)
    padding: Optional[str] = None  # reflect | replicate | zero; None = the generator's own default
    generator_options: Dict[str, Any] = field(default_factory=dict)  # extra builder args, e.g. {n_blocks: 4}
    residual: Union[bool, str] = False  # true | false | auto: U-Net/ResNet output = clamp(colour map(input) + network)
    # How a residual generator starts (tools/BENCHMARKS.md, quality): its colour map fitted on
    # training samples (least squares on pairs; the colour transfer between unpaired domains), and
    # its network's output conv at zero, so that step 1 begins exactly at that map.
    fit_colour_map: bool = True  # residual colour map starts fitted on the training data; false: identity
    zero_init_residual: bool = True  # residual network's output conv starts at zero (exact start at the map)
    learn_colour_map: bool = True  # the residual colour map learns; false: it stays where it starts (fit_colour_map)
    init: str = "normal"  # normal | xavier | kaiming | orthogonal
    init_gain: float = 0.02  # scale of the initial weights
    discriminator: str = "patchgan"  # patchgan | pixel | multiscale
    ndf: int = 64  # discriminator width (filters in the first layer)
    n_layers_d: int = 3  # PatchGAN depth: 3 gives 70x70 patches
    norm_d: Optional[str] = None  # discriminator norm; None = same as norm
    spectral_norm: bool = False  # spectral normalisation on discriminator convs
    num_scales: int = 2  # multiscale discriminator only
    gan_mode: str = "lsgan"  # vanilla | lsgan | wgangp | hinge
    diff_augment: str = ""  # DiffAugment before D, e.g. "color,translation,cutout" (pix2pix, cyclegan); "" = off
    lambda_gan: float = 1.0  # weight of the adversarial term
    lambda_gp: float = 10.0  # gradient penalty weight (wgangp)
    lambda_ssim: float = 0.0  # SSIM term on the reconstruction/target
    lambda_perceptual: float = 0.0  # VGG perceptual term
    lambda_feature_matching: float = 0.0  # discriminator feature matching
    gradient_checkpointing: bool = False  # recompute generator activations in backward: less memory, more time
    vgg_weights: Optional[str] = None  # local VGG file; default: torch cache (vgg19-dcbb9e9d.pth)

    # Choices are the names the builders take (registries and nets.layers' tables). Not here:
    # generator_options (builder_options checks it against the builder), diff_augment (DiffAugment
    # checks its policies), vgg_weights (a path). The depth that fits the crop is measured by
    # the training loop, which probes every network at the run's size.
    RULES: ClassVar[Dict[str, Rule]] = {
        "generator": one_of(GENERATORS.names),
        "ngf": WIDTH,
        "norm": one_of(norm_names),
        "padding": one_of(padding_names),
        "residual": one_of((True, False, "auto")),
        "init": one_of(init_names),
        "init_gain": between(0, 10, exclude_low=True),
        "discriminator": one_of(DISCRIMINATORS.names),
        "ndf": WIDTH,
        "n_layers_d": between(1, 10),
        "norm_d": one_of(norm_names),
        "num_scales": between(1, 6),
        "gan_mode": one_of(lambda: tuple(ADVERSARIAL_MODES)),
        "lambda_gan": WEIGHT,
        "lambda_gp": WEIGHT,
        "lambda_ssim": WEIGHT,
        "lambda_perceptual": WEIGHT,
        "lambda_feature_matching": WEIGHT,
    }
    ARCHITECTURE: ClassVar[FrozenSet[str]] = frozenset({
        "generator", "ngf", "norm", "dropout", "padding", "generator_options", "residual",
        "discriminator", "ndf", "n_layers_d", "norm_d", "spectral_norm", "num_scales"})


def generator_spec(opts: NetworkOptions, in_channels: int, out_channels: int, translator: str, direction: str,
                   preprocess: Dict[str, Any]) -> GeneratorSpec:
    kwargs: Dict[str, Any] = {"ngf": opts.ngf, "norm": opts.norm, "dropout": opts.dropout}
    if opts.padding is not None:
        kwargs["padding"] = opts.padding
    # Applied or refused: builders ignore keys they do not name, which hid typos and presets that
    # fix the option (resnet_9blocks with n_blocks: 6 trained 9 blocks while inspect said 6).
    check_user_options(opts.generator, opts.generator_options)
    if residual_wanted(opts, in_channels, out_channels):
        # The learned colour map lets a translation drop or recolour the photo it starts from
        # (ResidualOutput); generator_options={input_map: false} gives the plain clamp(input + network).
        kwargs.update(residual=True, input_map=True)
    kwargs.update(opts.generator_options)
    return GeneratorSpec(opts.generator, in_channels, out_channels, kwargs, preprocess, translator, direction)


def two_way_specs(opts: NetworkOptions, train, translator: str) -> Dict[str, GeneratorSpec]:
    """The AtoB and BtoA generator specs of a two-way translator (CycleGAN, DiscoGAN)."""
    ca, cb = train.channels_a, train.channels_b
    pre = preprocess_record(train)
    return {"AtoB": generator_spec(opts, ca, cb, translator, "AtoB", pre),
            "BtoA": generator_spec(opts, cb, ca, translator, "BtoA", pre)}


def cycle(g_ab: nn.Module, g_ba: nn.Module, real_a: torch.Tensor,
          real_b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Both cycles of a two-way translator, in this order (dropout draws follow it):
    fake_B = G_AB(a), rec_A = G_BA(fake_B), fake_A = G_BA(b), rec_B = G_AB(fake_A).
    Returns (fake_b, rec_a, fake_a, rec_b)."""
    fake_b = g_ab(real_a)
    rec_a = g_ba(fake_b)
    fake_a = g_ba(real_b)
    rec_b = g_ab(fake_a)
    return fake_b, rec_a, fake_a, rec_b


def cycle_visuals(batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The sample grid of a two-way translator: each domain's image, its translation and its reconstruction."""
    return {"real_A": batch["A"], "fake_B": fakes["fake_B"], "rec_A": fakes["rec_A"],
            "real_B": batch["B"], "fake_A": fakes["fake_A"], "rec_B": fakes["rec_B"]}


def build_generator_from_spec(spec: GeneratorSpec, opts: NetworkOptions) -> Generator:
    """``spec``'s generator initialised as ``opts`` say; checkpointing where the class declares it."""
    net = init_weights(spec.build(), kind=opts.init, gain=opts.init_gain)
    if opts.zero_init_residual:
        zero_network_output(net)
    head = net.residual_output()
    if head is not None and not opts.learn_colour_map:
        head.freeze_map()
    net.set_gradient_checkpointing(opts.gradient_checkpointing)
    return net


def make_discriminator(opts: NetworkOptions, in_channels: int) -> nn.Module:
    kwargs: Dict[str, Any] = dict(ndf=opts.ndf, n_layers=opts.n_layers_d, norm=opts.norm_d or opts.norm,
                                  spectral_norm=opts.spectral_norm)
    if opts.discriminator == "multiscale":
        kwargs["num_scales"] = opts.num_scales
    net = build_discriminator(opts.discriminator, in_channels=in_channels, **kwargs)
    return init_weights(net, kind=opts.init, gain=opts.init_gain)


def preprocess_record(train) -> Dict[str, Any]:
    """How training images were prepared; saved with each generator for apply's defaults."""
    return {"mode": train.preprocess, "size": train.size, "load_size": train.load_size}
