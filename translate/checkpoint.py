"""Checkpoints that rebuild themselves.

A run folder ``checkpoints/<name>/`` holds:

* ``translate.json``: what the run is (translator, step, and for every exported
  generator its architecture name, constructor arguments and file), written last;
* ``generator_<direction>.safetensors``: generator weights; the file's own
  safetensors metadata repeats the architecture, so a bare weights file copied
  elsewhere still rebuilds its network;
* ``config.yaml``: the resolved run configuration (for people, and for ``--resume``);
* ``training_state.pt``: every network, optimiser, scheduler, scaler, RNG state and
  the translator's own state (e.g. CycleGAN's image pool), for exact resume. It holds
  only tensors and plain containers and is read with ``weights_only=True``.

Every file is written atomically (see ``translate.fileio``).
"""
from __future__ import annotations

from translate.errors import TranslateError
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from translate.version import __version__
from translate.fileio import atomic_path, atomic_write_text
from translate.registry import GENERATORS

METADATA_FILE = "translate.json"
TRAINING_STATE_FILE = "training_state.pt"
CONFIG_FILE = "config.yaml"
FORMAT = "translate-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(TranslateError, RuntimeError):
    """A checkpoint that cannot be read; the message names the file and the problem."""


@dataclass
class GeneratorSpec:
    """Everything needed to rebuild one generator without any flags."""

    architecture: str
    in_channels: int
    out_channels: int
    kwargs: Dict[str, Any] = field(default_factory=dict)
    # How inputs were prepared in training: apply uses it for defaults.
    preprocess: Dict[str, Any] = field(default_factory=dict)
    translator: str = ""
    direction: str = "AtoB"

    def build(self) -> nn.Module:
        return GENERATORS.build(
            self.architecture, in_channels=self.in_channels, out_channels=self.out_channels, **self.kwargs
        )

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "GeneratorSpec":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def generator_file(direction: str) -> str:
    return f"generator_{direction}.safetensors"


def save_generator(path: Path, net: nn.Module, spec: GeneratorSpec, step: int) -> None:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    meta = {"format": FORMAT, "spec": json.dumps(asdict(spec)), "step": str(step)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def save_run(
    folder: Path,
    generators: Dict[str, Tuple[nn.Module, GeneratorSpec]],
    step: int,
    translator: str,
    training_state: Optional[Dict[str, Any]] = None,
) -> None:
    """Write a run folder: weights first, training state, then the metadata that names them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for direction, (net, spec) in generators.items():
        name = generator_file(direction)
        save_generator(folder / name, net, spec, step)
        entries[direction] = {"file": name, **asdict(spec)}
    if training_state is not None:
        with atomic_path(folder / TRAINING_STATE_FILE) as tmp:
            torch.save(training_state, tmp)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "translator": translator,
        "step": step,
        "generators": entries,
        "created_with": f"translate {__version__}",
    }
    atomic_write_text(folder / METADATA_FILE, json.dumps(meta, indent=2) + "\n")


def read_metadata(folder: Path) -> Dict[str, Any]:
    path = Path(folder) / METADATA_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not found (is {folder} a translate checkpoint folder?)") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a translate checkpoint (format {meta.get('format')!r})")
    return meta


def _choose_direction(available: Dict[str, Any], direction: Optional[str], where: Path) -> str:
    if direction is None:
        # A one-generator model (pix2pix) has exactly one answer; two-way ones default to AtoB.
        return next(iter(available)) if len(available) == 1 else "AtoB"
    if direction not in available:
        raise CheckpointError(
            f"{where}: has no {direction} generator (it has: {', '.join(sorted(available))})"
        )
    return direction


def load_generator(path: Path, direction: Optional[str] = None, map_location: str = "cpu") -> Tuple[nn.Module, GeneratorSpec]:
    """Rebuild a generator from a run folder or a bare ``.safetensors`` file of this format.

    Published ``.pth`` files are read by ``translate.interop.loading.load_generator``, which
    defers to this function for everything else.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        meta = read_metadata(path)
        chosen = _choose_direction(meta["generators"], direction, path)
        entry = meta["generators"][chosen]
        weights = path / entry["file"]
        spec = GeneratorSpec.from_dict(entry)
    elif path.suffix == ".safetensors":
        weights = path
        spec = _spec_from_safetensors(path)
        if direction is not None and direction != spec.direction:
            raise CheckpointError(f"{path}: holds the {spec.direction} generator, not {direction}")
    elif path.exists():
        raise CheckpointError(f"{path}: expected a checkpoint folder or a .safetensors weights file")
    else:
        raise CheckpointError(f"{path}: no such checkpoint")
    net = spec.build()
    try:
        state = load_file(str(weights), device=map_location)
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: cannot read weights ({exc})") from None
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{weights}: weights do not fit {spec.architecture} "
            f"(missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]})"
        )
    return net, spec


def _spec_from_safetensors(path: Path) -> GeneratorSpec:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: cannot read ({exc})") from None
    if meta.get("format") != FORMAT or "spec" not in meta:
        raise CheckpointError(f"{path}: safetensors file without translate metadata; cannot tell its architecture")
    return GeneratorSpec.from_dict(json.loads(meta["spec"]))


def load_training_state(folder: Path) -> Dict[str, Any]:
    path = Path(folder) / TRAINING_STATE_FILE
    if not path.exists():
        raise CheckpointError(f"{path}: no training state to resume from")
    try:
        # weights_only: never run code from a file on disk.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupted or hostile file: say which and why, in one line
        raise CheckpointError(f"{path}: cannot load training state ({str(exc).splitlines()[0]})") from None
