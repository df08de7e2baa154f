"""Typed configuration for a training run.

A run is configured by two dataclasses:

* ``TrainConfig``: what every translator shares (data, steps, devices, logging).
* the translator's own options dataclass (networks, losses and their weights),
  whose field defaults are the paper's preset.

Both are filled in three layers, later ones winning: the defaults, a YAML file
(``--config``), then ``--set KEY=VALUE`` pairs. Keys live in one flat namespace
(``--set lambda_cycle=5`` or ``--set batch_size=4``), so a user never needs to
know which dataclass holds a key; the two dataclasses never share a field name.
Unknown keys and mistyped values are one-line errors naming the key and the
nearest valid ones.

Every key's valid values are declared once, as a ``Rule`` in the ``RULES`` table of the
dataclass that holds it (``TrainConfig.RULES``, each translator's ``Options.RULES``), and
checked by one function (``check_rules``) before any value reaches torch: a number out of
range, NaN or infinity, or a name no table builds is a ``ConfigError`` naming the key.
Choices come from the tables that build them (the norm names from ``nets.layers``, ...),
so a list here cannot drift from what the code accepts; the names a run shares with the CLI,
serve and the API (precision, direction) and the default load size come from
``translate.choices``. Rules that relate keys to each other (a discriminator deep enough to
shrink the crop to nothing) are each options class's ``check(train)``.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

import yaml

from translate.choices import DEFAULT_DIRECTION, DEFAULT_PRECISION, DIRECTIONS, PRECISIONS, default_load_size
from translate.errors import TranslateError


class ConfigError(TranslateError, ValueError):
    """A bad configuration key or value; the message is one line meant for the user."""


Choices = Union[Tuple[Any, ...], Callable[[], Iterable[Any]]]


@dataclass(frozen=True)
class Rule:
    """The values one config key takes: a number in [low, high] (an end excluded when asked),
    or one of ``choices`` (a tuple, or a function returning the names a registry or table
    builds, asked only when a value is checked). ``None`` is never checked: it means "default"."""

    low: Optional[float] = None
    high: Optional[float] = None
    exclude_low: bool = False
    exclude_high: bool = False
    choices: Optional[Choices] = None

    def options(self) -> Tuple[Any, ...]:
        names = self.choices() if callable(self.choices) else self.choices
        return tuple(names or ())

    def problem(self, value: Any) -> Optional[str]:
        """Why ``value`` is refused (to follow "config key 'k' "), or None when it is valid."""
        if self.choices is not None:
            valid = self.options()
            if value in valid and type(value) in {type(v) for v in valid if v == value}:
                return None
            return f"must be one of {', '.join(_shown(v) for v in valid)}"
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        too_low = self.low is not None and (value <= self.low if self.exclude_low else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.exclude_high else value > self.high)
        return self.describe() if too_low or too_high else None

    def describe(self) -> str:
        low = f"more than {_number(self.low)}" if self.exclude_low else f"at least {_number(self.low)}"
        high = f"less than {_number(self.high)}" if self.exclude_high else f"at most {_number(self.high)}"
        if self.low is None:
            return f"must be {high}"
        if self.high is None:
            return f"must be {low}"
        if not (self.exclude_low or self.exclude_high):
            return f"must be between {_number(self.low)} and {_number(self.high)}"
        return f"must be {low} and {high}"


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)  # as YAML writes it


def _number(value: Optional[float]) -> str:
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def between(low: float, high: float, exclude_low: bool = False, exclude_high: bool = False) -> Rule:
    return Rule(low, high, exclude_low, exclude_high)


def one_of(choices: Choices) -> Rule:
    return Rule(choices=choices)


# The vocabulary most options share. Widths stop where builder_options stops a file's widths;
# loss weights are never negative (a negative weight maximises the loss it weighs).
WIDTH = between(1, 4096)
WEIGHT = between(0, 1e6)
COUNT = between(0, 10**9)  # steps, intervals and counts where 0 means off
EVERY = between(1, 10**9)  # intervals where 0 would divide by zero
FRACTION = between(0, 1)
SEED_MAX = 2**32 - 1  # numpy seeds take 0 .. 2**32 - 1


def rules_of(cls: type) -> Dict[str, Rule]:
    """Every rule of ``cls``: its own ``RULES`` over its bases' (a subclass narrows or widens a key)."""
    rules: Dict[str, Rule] = {}
    for klass in reversed(cls.__mro__):
        rules.update(klass.__dict__.get("RULES", {}))
    return rules


def check_rules(obj: Any) -> None:
    """Refuse the first field of the dataclass ``obj`` whose value its rule does not take."""
    rules = rules_of(type(obj))
    for f in fields(obj):
        value, rule = getattr(obj, f.name), rules.get(f.name)
        if value is None or rule is None:
            continue
        problem = rule.problem(value)
        if problem:
            raise ConfigError(f"config key {f.name!r} {problem}; got {value!r}")


class CheckedOptions:
    """Base of every translator's options dataclass: the rules its keys are checked against.

    ``RULES`` maps a key to its ``Rule`` (merged along the bases, so a subclass lists only what
    it adds or changes); ``ARCHITECTURE`` names the keys that shape the networks, which a resumed
    run cannot change (its saved weights would not fit); ``check`` relates keys to each other and
    to the training config.
    """

    RULES: ClassVar[Dict[str, Rule]] = {}
    ARCHITECTURE: ClassVar[FrozenSet[str]] = frozenset()

    def check(self, train: "TrainConfig") -> None:
        """Rules between keys (and against ``train``); each raises ``ConfigError`` naming a key."""


def architecture_keys(cls: type) -> FrozenSet[str]:
    keys: FrozenSet[str] = frozenset()
    for klass in cls.__mro__:
        keys |= klass.__dict__.get("ARCHITECTURE", frozenset())
    return keys


@dataclass
class TrainConfig:
    """Options every translator shares. Field comments are the ``--help`` text."""

    data: str = ""  # dataset root (trainA/trainB, train/ of AB images, or train/A + train/B)
    name: str = "run"  # run name: checkpoints go to <checkpoints_dir>/<name>/
    preset: str = "default"  # default | paper (the papers' exact settings: see PRESETS in translate/config.py)
    checkpoints_dir: str = "checkpoints"  # where run folders live
    size: int = 256  # training crop size in pixels
    load_size: Optional[int] = None  # resize before cropping; default size * 286 / 256
    preprocess: str = "resize_and_crop"  # resize_and_crop | crop | scale_width | scale_width_and_crop | none
    flip: bool = True  # random horizontal flips
    channels_a: int = 3  # 1 for grayscale inputs
    channels_b: int = 3  # 1 for grayscale outputs
    direction: str = DEFAULT_DIRECTION  # paired translators: which side is the input
    batch_size: int = 1  # per process; under torchrun the global batch is this x world size
    steps: Optional[int] = None  # total optimiser steps of the run (a resumed run continues up to it)
    epochs: Optional[int] = None  # alternative to steps: passes over the training set
    seed: int = 0  # random seed; seeded fp32 runs repeat bit for bit on CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = DEFAULT_PRECISION  # auto | fp32 | bf16 | fp16 (auto: bf16 where the device has it, see README)
    channels_last: bool = False  # NHWC memory format; measured slower on CPU, try it on GPU
    num_workers: int = 2  # data loading processes
    lr: float = 2e-4  # Adam learning rate of every network
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    lr_d: Optional[float] = None  # discriminator learning rate (TTUR); None = lr
    lr_decay_start: float = 0.5  # fraction of the run after which the LR decays linearly to 0
    ema: bool = False  # keep an EMA of the generator weights and export it (apply/eval use it)
    ema_decay: float = 0.999  # EMA rate, warmed up as min(decay, (1+step)/(10+step))
    log_every: int = 25  # steps between TensorBoard scalar writes
    save_every: int = 500  # steps between checkpoints (one is always written at the end and on Ctrl-C/SIGTERM)
    save_minutes: float = 10.0  # also save when this many minutes passed since the last save (0 = off)
    keep_last: int = 3  # recent saves kept as steps/<step>/ for `apply --step N` (0 = none)
    sample_every: int = 0  # steps between HTML/TensorBoard sample grids; 0 = once per epoch
    tensorboard: bool = True  # write TensorBoard scalars and images to <run>/tensorboard
    # Quality measured while training (translate.eval, docs/eval.md); rank 0 only.
    eval_every: int = 0  # steps between evaluations of eval_split (0 = never)
    eval_split: str = "test"  # dataset split to translate and measure
    eval_max_images: int = 50  # first N images of the split (per domain if unpaired); 0 = all
    eval_metrics: List[str] = field(default_factory=list)  # e.g. [psnr, ssim]; empty = defaults for the data
    eval_weights_dir: Optional[str] = None  # feature-network weights folder; default the torch cache

    # Keys not here are free text checked where they are used: paths (data, checkpoints_dir,
    # eval_weights_dir), device (translate.devices), preprocess (translate.data's table of modes),
    # eval_split and eval_metrics (translate.eval).
    RULES: ClassVar[Dict[str, Rule]] = {
        "preset": one_of(lambda: tuple(PRESETS)),
        "size": between(8, 16384),
        "load_size": between(8, 32768),
        "channels_a": one_of((1, 3)),
        "channels_b": one_of((1, 3)),
        "direction": one_of(DIRECTIONS),
        "batch_size": between(1, 65536),
        "steps": EVERY,
        "epochs": between(1, 10**6),
        "seed": between(0, SEED_MAX),
        "precision": one_of(PRECISIONS),
        "num_workers": between(0, 1024),
        "lr": between(0, 1),  # 0 freezes the weights: how tests look at a run's start
        "beta1": between(0, 1, exclude_high=True),
        "beta2": between(0, 1, exclude_high=True),
        "lr_d": between(0, 1),
        "lr_decay_start": FRACTION,
        "ema_decay": between(0, 1, exclude_high=True),
        "log_every": EVERY,
        "save_every": EVERY,
        "save_minutes": between(0, 10**6),
        "keep_last": between(0, 10**6),
        "sample_every": COUNT,
        "eval_every": COUNT,
        "eval_max_images": COUNT,
    }


# Named sets of config keys applied right above the defaults (below YAML, flags and --set).
# "default" is the dataclass defaults: the project's measured choices (tools/BENCHMARKS.md).
# "paper" pins every quality lever this project added or re-defaulted to what pix2pix and
# CycleGAN (Isola et al. 2017, Zhu et al. 2017) and their reference implementation use, so a
# paper can be reproduced with one flag whatever the defaults become. The translators' Options
# defaults (networks, gan_mode, loss weights) are already the papers'.
PRESETS: Dict[str, Dict[str, Any]] = {
    "default": {},
    "paper": {
        "ema": False,  # the papers export the live generator
        "lr_d": None,  # one learning rate (2e-4) for G and D
        "lr_decay_start": 0.5,  # constant for half the run, then linear to 0
        "diff_augment": "",  # the discriminator sees the images as they are
        "spectral_norm": False,
        "residual": False,  # the generator outputs the image itself, not a change to its input
    },
}


def preset_values(name: str, model: Any) -> Dict[str, Any]:
    """The keys preset ``name`` sets that exist for this translator (CoGAN has no diff_augment)."""
    if name not in PRESETS:
        raise ConfigError(f"config key 'preset': unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    keys = set(preset_fields(TrainConfig)) | set(preset_fields(type(model)))
    return {k: v for k, v in PRESETS[name].items() if k in keys}


def preset_fields(options_cls: type) -> List[str]:
    return [f.name for f in fields(options_cls)]


def _type_of(cls: type, name: str) -> Any:
    hints = typing.get_type_hints(cls)
    return hints[name]


def _coerce(key: str, value: Any, expected: Any) -> Any:
    """Check ``value`` (already parsed from YAML) against a dataclass field type."""
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"config key {key!r}: bad value {value!r}")
    if origin in (list, List, tuple, Tuple):
        if not isinstance(value, (list, tuple)):
            value = [value]
        inner = args[0] if args else Any
        return [_coerce(key, v, inner) for v in value]
    if expected is Any:
        return value
    if origin in (dict, Dict):
        if isinstance(value, dict):
            return dict(value)
        raise ConfigError(f"config key {key!r} expects a mapping like {{name: value}}, got {value!r}")
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None:
            # NaN and infinity pass every comparison a range check makes: refused for every key.
            if not math.isfinite(number):
                raise ConfigError(f"config key {key!r} must be a finite number; got {value!r}")
            return number
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif expected is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif isinstance(value, expected):
        return value
    name = getattr(expected, "__name__", str(expected))
    raise ConfigError(f"config key {key!r} expects {name}, got {value!r}")


def parse_set_pairs(pairs: Iterable[str]) -> Dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; values are parsed as YAML scalars."""
    out: Dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        key, raw = pair.split("=", 1)
        key = key.strip()
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key] = raw
    return out


# A run's saved config is a few KB; a file a thousand times that is not one (and YAML's aliases
# can make a small file expand, so the bound is on the text, before parsing).
MAX_CONFIG_BYTES = 4 * 2**20


def load_yaml(path: str | Path) -> Dict[str, Any]:
    """Read a config file: a flat mapping, or the ``train:``/``model:`` sections we save."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size:,} bytes is not a config file (the limit is "
                              f"{MAX_CONFIG_BYTES:,})")
        loaded = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:  # a hostile file nested thousands deep: the parser recurses per level
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of KEY: VALUE")
    flat: Dict[str, Any] = {}
    for key, value in loaded.items():
        if key in ("train", "model") and isinstance(value, dict):
            flat.update(value)
        elif key == "translator":
            continue  # recorded for humans; the command line names the translator
        else:
            flat[key] = value
    return flat


@dataclass
class RunConfig:
    """The resolved configuration of one run: shared options plus the translator's own."""

    translator: str
    train: TrainConfig
    model: Any  # the translator's options dataclass

    def to_dict(self) -> Dict[str, Any]:
        return {
            "translator": self.translator,
            "train": dataclasses.asdict(self.train),
            "model": dataclasses.asdict(self.model),
        }

    def save(self, path: str | Path) -> None:
        from translate.fileio import atomic_write_text

        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))


def apply_overrides(train: TrainConfig, model: Any, overrides: Dict[str, Any]) -> Tuple[TrainConfig, Any]:
    """Return copies of ``train`` and ``model`` with ``overrides`` applied and type-checked."""
    train_keys = set(preset_fields(TrainConfig))
    model_keys = set(preset_fields(type(model)))
    train_changes: Dict[str, Any] = {}
    model_changes: Dict[str, Any] = {}
    for key, value in overrides.items():
        key = key.replace("-", "_")
        if key in train_keys:
            train_changes[key] = _coerce(key, value, _type_of(TrainConfig, key))
        elif key in model_keys:
            model_changes[key] = _coerce(key, value, _type_of(type(model), key))
        else:
            valid = sorted(train_keys | model_keys)
            close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else " (see `translate train --help-config`)"
            raise ConfigError(f"unknown config key {key!r}{hint}")
    return dataclasses.replace(train, **train_changes), dataclasses.replace(model, **model_changes)


def resolve(
    translator: str,
    model_defaults: Any,
    yaml_paths: Iterable[str] = (),
    cli_values: Optional[Dict[str, Any]] = None,
    set_pairs: Iterable[str] = (),
    train_defaults: Optional[Dict[str, Any]] = None,
) -> RunConfig:
    """Defaults (``train_defaults``: a translator's own, e.g. DiscoGAN's 64 px), then YAML files
    in order, then explicit flags, then ``--set`` pairs."""
    layers = [load_yaml(path) for path in yaml_paths]
    layers.append({k: v for k, v in (cli_values or {}).items() if v is not None})
    layers.append(parse_set_pairs(set_pairs))
    # The preset is chosen by the last layer that names one, and applied below all of them.
    preset = next((layer["preset"] for layer in reversed(layers) if "preset" in layer), "default")
    train, model = TrainConfig(), model_defaults
    if train_defaults:
        train, model = apply_overrides(train, model, train_defaults)
    train, model = apply_overrides(train, model, {**preset_values(str(preset), model), "preset": preset})
    for layer in layers:
        train, model = apply_overrides(train, model, layer)
    if train.load_size is None:
        train = dataclasses.replace(train, load_size=default_load_size(train.size))
    validate(train)
    validate_options(model, train)
    return RunConfig(translator=translator, train=train, model=model)


def validate(train: TrainConfig) -> None:
    """Every key of ``train`` against its rule, then the rules between keys."""
    check_rules(train)
    parts = Path(train.name).parts
    if not parts or any(part in (".", "..") for part in parts):
        # An empty name or "." would put the run's files straight into checkpoints_dir.
        raise ConfigError(f"config key 'name' must name a run folder; got {train.name!r}")
    if not train.checkpoints_dir.strip():
        # Empty would put run folders wherever the command happens to run.
        raise ConfigError("config key 'checkpoints_dir' must name a folder (. for the current one); got ''")


def validate_options(model: Any, train: TrainConfig) -> None:
    """A translator's options against their rules and ``train``; options classes that are not
    ``CheckedOptions`` are a bug in the translator, not the user's to fix."""
    if not isinstance(model, CheckedOptions):
        raise TypeError(f"{type(model).__name__} must derive from translate.config.CheckedOptions")
    check_rules(model)
    model.check(train)


def field_meanings(cls: type) -> Dict[str, str]:
    """Each field's comment in its dataclass source (``name: type = default  # meaning``): the
    one place a key's meaning is written, read back for ``--help-config``."""
    import inspect
    import re

    meanings: Dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for line in source.splitlines():
            found = re.match(r"\s+(\w+)\s*:[^#]*#\s*(.+)$", line)
            if found:
                meanings[found.group(1)] = found.group(2).strip()
    return meanings


def _type_name(hint: Any) -> str:
    """``bool | str`` for a Union (``Optional[int]`` -> ``int | None``), else the type's name."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(hint)).replace("NoneType", "None")
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))


def describe_keys(model_defaults: Any, train_defaults: Optional[Dict[str, Any]] = None) -> List[Tuple[str, str, Any, str]]:
    """(key, type, default, meaning) for every config key, for ``--help-config``. Defaults are the
    ones a run really starts from: the translator's ``train_defaults`` applied (DiscoGAN's 64 px)."""
    train, model = TrainConfig(), model_defaults
    if train_defaults:
        train, model = apply_overrides(train, model, train_defaults)
    if train.load_size is None:
        train = dataclasses.replace(train, load_size=default_load_size(train.size))
    rows = []
    for cls, obj in ((TrainConfig, train), (type(model), model)):
        hints = typing.get_type_hints(cls)
        meanings = field_meanings(cls)
        for f in fields(cls):
            type_name = _type_name(hints[f.name])
            rows.append((f.name, type_name, getattr(obj, f.name), meanings.get(f.name, "")))
    return rows
