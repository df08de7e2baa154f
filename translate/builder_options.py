"""Checking the options a generator is built with, against what its builder really takes.

Builders accept ``**kwargs`` and ignore what they do not name, so that one config can build any
member of the zoo. That makes a typo or a wrong type vanish silently (``generator_options={n_blocks:
6}`` on ``resnet_9blocks`` trained 9 blocks), and lets a hostile checkpoint ask for a billion
channels. So options are checked here against the builder's signature:

* ``check_user_options``: every key a user wrote must be a parameter the builder names, of its
  annotated type; a preset whose name fixes the option says which general generator takes it.
* ``check_file_options``: sizes read from a file must be ints within bounds (keys the builder does
  not name are ignored, as building ignores them).
"""
from __future__ import annotations

import difflib
import inspect
import typing
from typing import Any, Dict, Mapping, Optional

from translate.errors import TranslateError
from translate.registry import GENERATORS


class NetworkOptionError(TranslateError, ValueError):
    """An option a network does not take, of the wrong type, or out of bounds; one line."""


# Upper bounds for integer sizes: far above any published model, far below what exhausts memory.
_COUNT_LIMITS = {"n_blocks": 100, "n_blocks_local": 100, "num_downs": 12, "n_downsampling": 10, "n_downs": 12,
                 "n_enhancers": 4, "private_layers": 16, "restarts": 1000, "iterations": 1_000_000,
                 "size": 16384, "image_size": 16384}
_WIDTH_LIMIT = 4096  # ngf, nef, latent_dim, bottleneck, channels
_UNBOUNDED = {"seed"}
# Presets whose name fixes an option, and the general generator that takes it.
_GENERAL = {"resnet": "resnet", "unet": "unet"}


def _parameters(name: str) -> Dict[str, Any]:
    builder = GENERATORS.get(name)
    try:
        hints = typing.get_type_hints(builder)
    except Exception:  # annotations that cannot be resolved: check names only
        hints = {}
    return {p.name: hints.get(p.name, Any) for p in inspect.signature(builder).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _type_ok(value: Any, expected: Any) -> bool:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin is typing.Union:
        return any(_type_ok(value, a) for a in args)
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    return True  # Any, or a type this check does not know


def _type_name(expected: Any) -> str:
    args = [a for a in typing.get_args(expected) if a is not type(None)]
    return getattr(args[0] if args else expected, "__name__", str(expected))


def _check_value(key: str, value: Any, expected: Any, where: str) -> None:
    if not _type_ok(value, expected):
        raise NetworkOptionError(f"{where}: option {key!r} expects {_type_name(expected)}, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and key not in _UNBOUNDED:
        limit = _COUNT_LIMITS.get(key, _WIDTH_LIMIT)
        if not 0 <= value <= limit:
            raise NetworkOptionError(f"{where}: option {key!r} = {value} is out of bounds (0 to {limit})")


def check_user_options(generator: str, options: Mapping[str, Any], where: str = "generator_options") -> None:
    """Refuse keys ``generator`` does not take, values of the wrong type and sizes out of bounds."""
    params = _parameters(generator)
    for key, value in options.items():
        if key not in params or key in ("in_channels", "out_channels"):
            general = general_generator(generator)
            if general and key in _parameters(general):
                raise NetworkOptionError(
                    f"{where}: {key!r} is fixed by the preset {generator!r}; use generator={general} with "
                    f"generator_options={{{key}: {value}}} (or another preset)")
            valid = sorted(k for k in params if k not in ("in_channels", "out_channels"))
            close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else f" (it takes: {', '.join(valid)})"
            raise NetworkOptionError(f"{where}: generator {generator!r} takes no option {key!r}{hint}")
        _check_value(key, value, params[key], where)


def check_file_options(generator: str, in_channels: Any, out_channels: Any, options: Any, where: str) -> None:
    """Types and bounds of an architecture described by a file (a checkpoint's metadata)."""
    if not isinstance(generator, str):
        raise NetworkOptionError(f"{where}: architecture must be a name, got {generator!r}")
    params = _parameters(generator)  # an unknown name: UnknownNameError, one line
    if not isinstance(options, Mapping):
        raise NetworkOptionError(f"{where}: kwargs must be a mapping, got {type(options).__name__}")
    for key, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        _check_value(key, value, int, where)
        if value < 1:
            raise NetworkOptionError(f"{where}: {key} must be at least 1, got {value}")
    for key, value in options.items():
        if key in params:
            _check_value(key, value, params[key], where)


def general_generator(generator: str) -> Optional[str]:
    return next((g for prefix, g in _GENERAL.items() if generator.startswith(prefix + "_")), None)
