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

Every file is written atomically (see ``translate.fileio``). Every file is read as if someone
hostile wrote it: the metadata is checked field by field (``GeneratorSpec.from_dict``, the one
place every loader goes through), the architecture is built on the meta device and bounded
before it is built for real, and the weights' header must fit it before any tensor is read
(``translate.model_files``). Each refusal is one line naming the file and the field.
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from translate.builder_options import NetworkOptionError, check_file_options
from translate.errors import TranslateError
from translate.fileio import atomic_path
from translate.model_files.bounds import (CheckpointError, SafetensorsHeader, build_on_meta, check_weights_fit,
                                          parse_json, read_json_file, read_safetensors_header)
from translate.model_files.pickles import UnsafeFileError, refusal_reason, torch_load_safely
from translate.model_files.preprocess import check_preprocess
from translate.registry import GENERATORS, UnknownNameError
from translate.version import __version__

METADATA_FILE = "translate.json"
TRAINING_STATE_FILE = "training_state.pt"
CONFIG_FILE = "config.yaml"
FORMAT = "translate-checkpoint"
FORMAT_VERSION = 1
# Safe pickle loading lives in model_files.pickles; its names stay importable from here.
__all__ = ["CheckpointError", "CheckpointWriteError", "GeneratorSpec", "UnsafeFileError", "load_generator",
           "load_training_state", "read_metadata", "refusal_reason", "save_generator", "save_run",
           "torch_load_safely"]

class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint that could not be written (disk full ...); the previous one is intact. An
    ``OSError`` too, with the cause's ``errno``/``strerror``, so callers catching that still do."""

    def __init__(self, message: str, code: Optional[int], reason: str):
        super().__init__(message)
        self.errno = code
        self.strerror = reason

    def __str__(self) -> str:
        return str(self.args[0])


_NAME_LIMIT = 64  # translator and direction names are short words (AtoB, face, cyclegan)


def _check_name(data: Mapping[str, Any], key: str, where: str) -> None:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > _NAME_LIMIT or not value.replace("_", "").isalnum() and value:
        raise CheckpointError(f"{where}: {key} must be a short name, got {str(value)[:80]!r}")


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

    @property
    def input_kind(self) -> str:
        """What the generator reads, as training recorded it: ``rgb`` images, ``label`` maps, pose
        figures ... (model_files.preprocess.INPUT_KINDS); a property of the trained model, not of
        its class, so it is declared here rather than on the generator."""
        return str(self.preprocess.get("input", "rgb"))

    def build(self) -> nn.Module:
        return GENERATORS.build(
            self.architecture, in_channels=self.in_channels, out_channels=self.out_channels, **self.kwargs
        )

    def build_on_meta(self, where: Any) -> nn.Module:
        """This architecture with shapes only (nothing allocated), refused over the parameter limit."""
        return build_on_meta(self.build, where, self.architecture)

    def build_bounded(self, where: Any) -> nn.Module:
        """``build``, after the same architecture built on the meta device was found within bounds."""
        self.build_on_meta(where)
        return self.build()

    @classmethod
    def from_dict(cls, data: Any, where: Any = "generator spec") -> "GeneratorSpec":
        """A spec read from a file: every field is checked before anything is built (a hostile
        ``n_blocks: 1000000`` would otherwise build until memory runs out, a ``preprocess`` without
        ``num_classes`` would fail deep inside apply)."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: a generator entry must be a mapping, got {type(data).__name__}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = [k for k in ("architecture", "in_channels", "out_channels") if k not in known]
        if missing:
            raise CheckpointError(f"{where}: generator entry lacks {', '.join(missing)}")
        try:
            check_file_options(known["architecture"], known["in_channels"], known["out_channels"],
                               known.get("kwargs", {}), str(where))
        except (NetworkOptionError, UnknownNameError) as exc:
            raise CheckpointError(str(exc) if str(where) in str(exc) else f"{where}: {exc}") from None
        for key in ("translator", "direction"):
            _check_name(known, key, str(where))
        infinite = [k for k, v in known.get("kwargs", {}).items() if isinstance(v, float) and not math.isfinite(v)]
        if infinite:
            raise CheckpointError(f"{where}: option {infinite[0]!r} must be a finite number")
        spec = cls(**known)
        check_preprocess(spec.preprocess, spec.in_channels, str(where))
        return spec


def generator_file(direction: str) -> str:
    return f"generator_{direction}.safetensors"


def save_generator(path: Path, net: nn.Module, spec: GeneratorSpec, step: int) -> None:
    with atomic_path(path) as tmp:
        _write_generator(tmp, net, spec, step)


def _write_generator(path: Path, net: nn.Module, spec: GeneratorSpec, step: int) -> None:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    meta = {"format": FORMAT, "spec": json.dumps(asdict(spec)), "step": str(step)}
    save_file(tensors, str(path), metadata=meta)


# torch.save reports a short write (a full disk) as a RuntimeError from its zip writer, not an OSError.
_TORCH_WRITE_FAILURES = ("inline_container", "PytorchStreamWriter", "file write failed")


def _write_failure(folder: Path, exc: BaseException) -> Optional[CheckpointWriteError]:
    """The one-line error for a failed write, or None when ``exc`` is not about writing."""
    if isinstance(exc, OSError):
        code, reason = exc.errno, exc.strerror or str(exc) or type(exc).__name__
    elif any(marker in str(exc) for marker in _TORCH_WRITE_FAILURES) or isinstance(exc, SafetensorError):
        code, reason = None, "the write stopped short, as it does when the disk is full"
    else:
        return None
    shown = "no space left on device" if code == errno.ENOSPC else reason[0].lower() + reason[1:]
    try:
        previous = f"the previous checkpoint at step {read_metadata(folder)['step']} is intact"
    except CheckpointError:
        previous = "there was no earlier checkpoint there, and nothing half-written was left"
    return CheckpointWriteError(f"cannot write checkpoint to {folder}: {shown} ({previous})", code, reason)


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
    renamed into place (the metadata last). A failure raises ``CheckpointWriteError`` (one line,
    also an ``OSError``) with the previous checkpoint untouched and no temporaries left behind.
    """
    folder = Path(folder)
    try:
        _write_run(folder, generators, step, translator, training_state)
    except (OSError, RuntimeError, SafetensorError) as exc:
        failure = _write_failure(folder, exc)
        if failure is None or isinstance(exc, TranslateError):
            raise
        raise failure from None


def _write_run(folder: Path, generators: Dict[str, Tuple[nn.Module, GeneratorSpec]], step: int, translator: str,
               training_state: Optional[Dict[str, Any]]) -> None:
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
    """A run folder's ``translate.json``, every field checked (each generator entry by ``GeneratorSpec.from_dict``)."""
    path = Path(folder) / METADATA_FILE
    try:
        meta = read_json_file(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not found (is {folder} a translate checkpoint folder?)") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}: not a translate checkpoint (format {str(found)[:80]!r})")
    generators = meta.get("generators")
    if not isinstance(generators, dict) or not generators:
        raise CheckpointError(f"{path}: 'generators' must be a mapping of direction to generator entry")
    for direction, entry in generators.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise CheckpointError(f"{path}: generator {direction!r} needs a mapping with a 'file' name")
        _inside(Path(folder), entry["file"], path)
        GeneratorSpec.from_dict(entry, path)
    step = meta.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{path}: 'step' must be a whole number, got {step!r}")
    if not isinstance(meta.get("translator", ""), str):
        raise CheckpointError(f"{path}: 'translator' must be a name, got {meta['translator']!r}")
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


def load_generator(path: Path, direction: Optional[str] = None, map_location: str = "cpu",
                   metadata: Optional[Dict[str, Any]] = None) -> Tuple[nn.Module, GeneratorSpec]:
    """Rebuild a generator from a run folder or a bare ``.safetensors`` file of this format.

    Nothing is allocated before it is known to fit: the spec is checked, the architecture is
    built on the meta device and bounded, and the weights' header must match it key by key.
    Published ``.pth`` files are read by ``translate.interop.loading.load_generator``, which
    defers to this function for everything else. ``metadata``: the run folder's, when the caller
    has read it already (``read_metadata``), so it is read once.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        meta = metadata if metadata is not None else read_metadata(path)
        chosen = _choose_direction(meta["generators"], direction, path)
        entry = meta["generators"][chosen]
        weights, where = path / entry["file"], path / METADATA_FILE
        if not weights.is_file():
            raise CheckpointError(f"{where}: names {entry['file']!r}, which is missing from the run folder")
        spec = GeneratorSpec.from_dict(entry, where)
        header = read_safetensors_header(weights)
    elif path.suffix == ".safetensors":
        weights = where = path
        header = read_safetensors_header(path)
        spec = _spec_from_header(header, path)
        if direction is not None and direction != spec.direction:
            raise CheckpointError(f"{path}: holds the {spec.direction} generator, not {direction}")
    elif path.exists():
        raise CheckpointError(f"{path}: expected a checkpoint folder or a .safetensors weights file")
    else:
        raise CheckpointError(f"{path}: no such checkpoint")
    check_weights_fit(spec.build_on_meta(where).state_dict(), header, weights, spec.architecture)
    net = spec.build()
    try:
        state = load_file(str(weights), device=map_location)
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: cannot read weights ({exc})") from None
    net.load_state_dict(state, strict=True)  # names and shapes were checked above: this cannot refuse
    return net, spec


def _spec_from_header(header: SafetensorsHeader, path: Path) -> GeneratorSpec:
    meta = header.metadata
    if meta.get("format") != FORMAT or "spec" not in meta:
        raise CheckpointError(f"{path}: safetensors file without translate metadata; cannot tell its architecture")
    return GeneratorSpec.from_dict(parse_json(meta["spec"], path, "architecture metadata"), path)


# The keys every training state holds: Trainer.state_dict writes them, load_training_state requires them.
TRAINING_STATE_KEYS = ("step", "generators", "discriminators", "opt_G", "opt_D", "scaler", "translator")


def load_training_state(folder: Path) -> Dict[str, Any]:
    path = Path(folder) / TRAINING_STATE_FILE
    if not path.exists():
        raise CheckpointError(f"{path}: no training state to resume from")
    state = torch_load_safely(path, "training state")
    missing = [k for k in TRAINING_STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a translate training state (it lacks {', '.join(missing)})")
    return state
