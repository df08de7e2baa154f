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

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from translate.builder_options import NetworkOptionError, check_file_options
from translate.errors import TranslateError
from translate.fileio import atomic_path
from translate.registry import GENERATORS, UnknownNameError
from translate.version import __version__

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
    def from_dict(cls, data: Dict[str, Any], where: Any = "generator spec") -> "GeneratorSpec":
        """A spec read from a file: its types and sizes are checked before anything is built (a
        hostile ``n_blocks: 1000000`` would otherwise build until memory runs out)."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: a generator entry must be a mapping, got {type(data).__name__}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = [k for k in ("architecture", "in_channels", "out_channels") if k not in known]
        if missing:
            raise CheckpointError(f"{where}: generator entry lacks {', '.join(missing)}")
        for key in ("preprocess",):
            if not isinstance(known.get(key, {}), dict):
                raise CheckpointError(f"{where}: {key} must be a mapping, got {type(known[key]).__name__}")
        try:
            check_file_options(known["architecture"], known["in_channels"], known["out_channels"],
                               known.get("kwargs", {}), str(where))
        except (NetworkOptionError, UnknownNameError) as exc:
            raise CheckpointError(str(exc) if str(where) in str(exc) else f"{where}: {exc}") from None
        return cls(**known)


def generator_file(direction: str) -> str:
    return f"generator_{direction}.safetensors"


def save_generator(path: Path, net: nn.Module, spec: GeneratorSpec, step: int) -> None:
    with atomic_path(path) as tmp:
        _write_generator(tmp, net, spec, step)


def _write_generator(path: Path, net: nn.Module, spec: GeneratorSpec, step: int) -> None:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    meta = {"format": FORMAT, "spec": json.dumps(asdict(spec)), "step": str(step)}
    save_file(tensors, str(path), metadata=meta)


def save_run(
    folder: Path,
    generators: Dict[str, Tuple[nn.Module, GeneratorSpec]],
    step: int,
    translator: str,
    training_state: Optional[Dict[str, Any]] = None,
) -> None:
    """Write a run folder: weights, training state, then the metadata that names them.

    Two phases, so a write that fails half way (disk full) changes nothing: every file is
    first written to a temporary beside it, and only when all of them are complete are they
    renamed into place (the metadata last). A failure raises ``OSError`` with the previous
    checkpoint untouched and no temporaries left behind.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    with contextlib.ExitStack() as stack:
        # ExitStack renames in reverse order of entry: enter the metadata first so it lands last.
        meta_tmp = stack.enter_context(atomic_path(folder / METADATA_FILE))
        if training_state is not None:
            state_tmp = stack.enter_context(atomic_path(folder / TRAINING_STATE_FILE))
            torch.save(training_state, state_tmp)
        for direction, (net, spec) in generators.items():
            name = generator_file(direction)
            _write_generator(stack.enter_context(atomic_path(folder / name)), net, spec, step)
            entries[direction] = {"file": name, **asdict(spec)}
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "translator": translator,
            "step": step,
            "generators": entries,
            "created_with": f"translate {__version__}",
        }
        meta_tmp.write_text(json.dumps(meta, indent=2) + "\n")


def read_metadata(folder: Path) -> Dict[str, Any]:
    path = Path(folder) / METADATA_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not found (is {folder} a translate checkpoint folder?)") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}: not a translate checkpoint (format {found!r})")
    generators = meta.get("generators")
    if not isinstance(generators, dict) or not generators:
        raise CheckpointError(f"{path}: 'generators' must be a mapping of direction to generator entry")
    for direction, entry in generators.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise CheckpointError(f"{path}: generator {direction!r} needs a mapping with a 'file' name")
        _inside(Path(folder), entry["file"], path)
    if not isinstance(meta.get("step", 0), int):
        raise CheckpointError(f"{path}: 'step' must be an integer, got {meta.get('step')!r}")
    return meta


def _inside(folder: Path, name: str, where: Path) -> Path:
    """A file named by the metadata, refused unless it lies inside the run folder."""
    target = (folder / name).resolve()
    if target.parent != folder.resolve() or Path(name).is_absolute():
        raise CheckpointError(f"{where}: refers to {name!r}, outside the run folder; only files inside it are read")
    return target


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
        spec = GeneratorSpec.from_dict(entry, path / METADATA_FILE)
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
    try:
        data = json.loads(meta["spec"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: its architecture metadata is not valid JSON ({exc})") from None
    return GeneratorSpec.from_dict(data, path)


class UnsafeFileError(CheckpointError):
    """A pickle that would run code when loaded; refused, never loaded."""


def refusal_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a pickle, in our words: torch's own message
    ends by advising ``weights_only=False``, which would run the file's code."""
    import re

    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
    if found:
        return f"loading it would import and call {found.group(1)}"
    return "it holds Python objects other than tensors and plain containers"


def _first_sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    end = text.find(". ")
    return text[:end] if 0 < end < 200 else text[:200]


def torch_load_safely(path: Path, what: str = "file") -> Any:
    """``torch.load`` with ``weights_only=True`` and one-line errors: a hostile pickle is refused
    with a whole sentence, a corrupt or empty file names itself."""
    import pickle

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise CheckpointError(f"{path}: the {what} is empty (0 bytes)")
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeFileError(f"{path}: refused: {refusal_reason(exc)}, and translate never runs code from a "
                              f"file; only tensors and plain containers are read.") from None
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as exc:  # truncated, not a torch file, a folder ...
        raise CheckpointError(f"{path}: cannot read this {what} ({_first_sentence(exc)})") from None


_TRAINING_STATE_KEYS = ("step", "generators", "discriminators", "opt_G", "opt_D", "scaler", "translator")


def load_training_state(folder: Path) -> Dict[str, Any]:
    path = Path(folder) / TRAINING_STATE_FILE
    if not path.exists():
        raise CheckpointError(f"{path}: no training state to resume from")
    state = torch_load_safely(path, "training state")
    missing = [k for k in _TRAINING_STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a translate training state (it lacks {', '.join(missing)})")
    return state
