"""Import pytorch-CycleGAN-and-pix2pix generator files (and pix2pixHD's and CUT/FastCUT's, whose
layouts ``layouts_pix2pixhd`` and ``layouts_cut`` state) into the toolkit's own generators.

Those files (``latest_net_G.pth``, ``latest_net_G_A.pth``, the published ``horse2zebra.pth``)
are pickled state dicts. They are read with ``torch.load(weights_only=True)``, which only
rebuilds tensors and plain containers: a file that would need to import or call anything
else is refused before any of it runs (``UnsafeCheckpointError``).

The architecture is recognised from keys and shapes (``translate.interop.layouts``), so no
flags are needed. The toolkit's generators list their weights in the reference's order
with the reference's shapes, so the import maps keys by position and checks every shape
on the way; DataParallel's ``module.`` prefix is stripped, the running statistics that
PyTorch < 0.4 saved for InstanceNorm are dropped (they were never used), and batch-norm
``num_batches_tracked`` counters that such old files lack keep their fresh value. Fixed filters
that a file saves beside its weights (CUT's anti-aliasing ``filt`` buffers) are checked against
the values its layout states and dropped.
"""
from __future__ import annotations

import json
import pickle
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from translate.checkpoint import CheckpointError, GeneratorSpec, save_run
from translate.fileio import atomic_write_text
from translate.interop.errors import LayoutError, UnsafeCheckpointError
from translate.interop.layouts import Layout, recognise
from translate.model_files.bounds import check_torch_file
from translate.model_files.preprocess import check_preprocess
from translate.nets.contract import Generator

SOURCE_FILE = "source.json"  # provenance of a converted run folder, next to translate.json
# Some scripts wrap the state dict one level down; these are the keys seen in the wild.
_WRAPPER_KEYS = ("state_dict", "model", "netG", "generator")


@dataclass
class ImportedGenerator:
    net: nn.Module
    spec: GeneratorSpec
    layout: Layout
    notes: List[str] = field(default_factory=list)  # what the import had to adjust, for `inspect`


def direction_from_name(path: Path) -> str:
    """CycleGAN saves ``*_net_G_B.pth`` for the B->A generator; everything else is A->B."""
    return "BtoA" if re.search(r"(^|_)G_B$", Path(path).stem) else "AtoB"


def _refusal(path: Path, exc: Exception) -> str:
    """Why weights_only refused the pickle, as a whole sentence, without torch's advice to lift
    the restriction (which would run the file's code)."""
    from translate.model_files.pickles import refusal_reason

    return (f"{path}: refused: {refusal_reason(exc)}; only plain state dicts of tensors are read, "
            f"and no code from a file is ever run.")


def _is_torchscript(path: Path) -> bool:
    """A ``torch.jit.save`` archive: a zip whose entries include ``constants.pkl`` and ``code/``.
    It holds a traced graph, not weights and a spec, so nothing here can rebuild it."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


def read_state_dict(path: Path) -> Dict[str, torch.Tensor]:
    """Tensors of a ``.pth``/``.pt`` file, read without executing anything from it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if _is_torchscript(path):
        raise CheckpointError(f"{path}: a TorchScript export cannot be loaded or served (it has no architecture "
                              f"to rebuild); give its run folder or its .safetensors instead")
    check_torch_file(path)  # sizes its pickle claims, before torch.load allocates them
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(_refusal(path, exc)) from None
    except Exception as exc:  # truncated, not a torch file, ...: one line naming the file
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: cannot read as a PyTorch weights file ({first})") from None
    return _as_state_dict(obj, path)


def _as_state_dict(obj: Any, path: Path) -> Dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and len(obj) == 1 and next(iter(obj)) in _WRAPPER_KEYS:
        obj = next(iter(obj.values()))
    if isinstance(obj, Mapping) and {"generators", "opt_G"} <= set(obj):
        raise CheckpointError(f"{path}: this is a translate training state; pass its run folder instead")
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"{path}: not a state dict (found {type(obj).__name__})")
    bad = [str(k) for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise CheckpointError(f"{path}: not a state dict of tensors (entries {', '.join(bad[:4])} are not tensors)")
    return dict(obj)


def _strip_data_parallel(state: Dict[str, torch.Tensor], notes: List[str]) -> Dict[str, torch.Tensor]:
    if all(k.startswith("module.") for k in state):
        notes.append("stripped DataParallel 'module.' prefix")
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def _check_constants(state: Mapping[str, torch.Tensor], layout: Layout, where: str, notes: List[str]) -> None:
    """The file's fixed filters must be the ones the layout names: the toolkit's modules apply those
    filters, not the file's, so a file holding others would give different outputs silently."""
    for key, values in layout.constants.items():
        value = state[key].detach().to(torch.float64)
        expected = torch.tensor(values, dtype=torch.float64).view(value.shape[-2:]).expand_as(value)
        if not torch.allclose(value, expected, rtol=1e-4, atol=1e-6):
            raise LayoutError(f"{where}: {key} is not the fixed filter of {layout.description} "
                              f"(max difference {float((value - expected).abs().max()):.3g})")
    if layout.constants:
        notes.append(f"checked and dropped {len(layout.constants)} fixed anti-aliasing filters")


def _map_weights(net: nn.Module, state: Mapping[str, torch.Tensor], layout: Layout,
                 notes: List[str]) -> Dict[str, torch.Tensor]:
    """Our state dict filled from ``state``, pairing keys by position in forward order (the
    layout's fixed filters have no counterpart: our modules keep theirs unsaved)."""
    ours = net.state_dict()
    learned = [(k, s) for k, s in layout.keys.items() if k not in layout.constants]
    if len(ours) != len(learned):
        raise RuntimeError(f"internal: {layout.architecture} has {len(ours)} entries, layout {len(learned)}")
    mapped, filled = {}, 0
    for (our_key, our_value), (ref_key, ref_shape) in zip(ours.items(), learned):
        if tuple(our_value.shape) != tuple(ref_shape):
            raise RuntimeError(f"internal: {our_key} {tuple(our_value.shape)} vs layout {ref_key} {ref_shape}")
        if ref_key in state:
            mapped[our_key] = state[ref_key]
        else:  # an optional key (checked by recognise): keep our fresh value
            mapped[our_key] = our_value
            filled += 1
    legacy = sum(1 for k in state if k in layout.legacy)
    if legacy:
        notes.append(f"dropped {legacy} legacy InstanceNorm running-stat keys")
    if filled:
        notes.append(f"{filled} batch-norm num_batches_tracked counters absent (old file), set to 0")
    return mapped


def import_state_dict(state: Dict[str, torch.Tensor], where: str = "state dict",
                      direction: str = "AtoB") -> ImportedGenerator:
    """Recognise ``state``'s layout and load it into the matching toolkit generator."""
    notes: List[str] = []
    state = _strip_data_parallel(state, notes)
    layout = recognise({k: tuple(v.shape) for k, v in state.items()}, where)
    _check_constants(state, layout, where, notes)
    spec = GeneratorSpec(layout.architecture, layout.in_channels, layout.out_channels, dict(layout.kwargs),
                         {}, layout.translator, direction)
    # The layout's widths and depths come from the file's shapes: the same checks as any spec read
    # from a file, and the parameter bound, before anything is built.
    spec = GeneratorSpec.from_dict(asdict(spec), where)
    net = spec.build_bounded(where)
    net.load_state_dict(_map_weights(net, state, layout, notes), strict=True)
    return ImportedGenerator(net.eval(), spec, layout, notes)


def import_file(path: Path, direction: Optional[str] = None) -> ImportedGenerator:
    path = Path(path).expanduser()
    imported = import_state_dict(read_state_dict(path), str(path), direction or direction_from_name(path))
    return _apply_reference_options(imported, path)


# The reference saves its options beside the weights (checkpoints/NAME/train_opt.txt), one
# "name: value [default: ...]" per line.
_OPTION_FILES = ("train_opt.txt", "test_opt.txt", "opt.txt")


def _apply_reference_options(imported: ImportedGenerator, path: Path) -> ImportedGenerator:
    """Dropout leaves no trace in the weights, so the U-Net layout guesses the reference default
    (on). A model trained with --no_dropout says so in its options file: then --reference-test-mode
    must not add dropout the reference's own test script would not have."""
    text = ""
    for name in _OPTION_FILES:
        try:
            text = (path.parent / name).read_text(errors="replace")
        except OSError:
            continue
        found = re.search(r"^\s*no_dropout:\s*(True|False)\b", text, re.MULTILINE)
        if found and found.group(1) == "True" and imported.spec.kwargs.get("dropout"):
            state = imported.net.state_dict()  # dropout has no parameters: same weights
            imported.spec.kwargs["dropout"] = False
            net = imported.spec.build()
            net.load_state_dict(state, strict=True)
            imported.net = net.eval()
            imported.notes.append(f"dropout off: {path.parent / name} says no_dropout: True")
        break
    _label_input(imported, text, path.parent)
    return imported


def _option(options: str, name: str) -> Optional[str]:
    found = re.search(rf"^\s*{name}:\s*(\S+)", options, re.MULTILINE)
    return found.group(1) if found else None


def _label_input(imported: ImportedGenerator, options: str, folder: Path) -> None:
    """A generator reading more than 4 channels reads label maps: one-hot classes plus,
    by NVIDIA's default, one instance-boundary channel (label2city: 35 + 1 = 36), plus the
    feature encoder's codes for a model trained with them (its ``features_clustered_NNN.npy``
    beside the weights, or ``instance_feat``/``label_feat`` in its options). Recorded in the spec
    so apply encodes label-map files without flags; an options file (label_nc, no_instance,
    feat_num) beside the weights wins over the defaults."""
    spec = imported.spec
    # pix2pixHD's global generator has the ResNet layout, so the recogniser may name it "resnet":
    # the channel count, not the name, says label maps (no image has more than 4 channels).
    if spec.in_channels <= 4 or spec.preprocess.get("input"):
        return
    features = _features(options, folder, imported.notes)
    codes = features["channels"] if features else 0
    no_instance = _option(options, "no_instance") == "True"
    label_nc = _option(options, "label_nc")
    classes = int(label_nc) if label_nc and label_nc.isdigit() else spec.in_channels - codes - (0 if no_instance else 1)
    instances = spec.in_channels - codes - classes == 1
    if classes < 1 or spec.in_channels - codes - classes not in (0, 1):
        return  # an options file that does not fit the weights: leave it to the user
    spec.preprocess = {**spec.preprocess, "input": "label", "num_classes": classes, "instance_maps": instances}
    if features:
        spec.preprocess["features"] = features
        check_preprocess(spec.preprocess, spec.in_channels, folder / "features_clustered_*.npy")
    imported.notes.append(f"label-map input: {classes} classes{' + instance boundaries' if instances else ''}"
                          f"{f' + {codes} feature-code channels' if codes else ''}")


def _features(options: str, folder: Path, notes: List[str]) -> Optional[Dict[str, Any]]:
    """The ``features`` preprocess record of a pix2pixHD model trained with its feature encoder,
    from the cluster file its ``encode_features.py`` wrote (read without running code), or None."""
    per = "label" if _option(options, "label_feat") == "True" else "instance"
    found = sorted(folder.glob("features_clustered_*.npy"))
    named = _option(options, "cluster_path")
    if named and (folder / named).is_file():
        found = [folder / named]
    if not found:
        feat_num = _option(options, "feat_num")
        if "True" in (_option(options, "instance_feat"), _option(options, "label_feat")) and feat_num:
            notes.append("trained with the feature encoder, but no features_clustered_*.npy beside the weights: "
                         "the codes are zeros (run pix2pixHD's encode_features.py to make the file)")
            return {"channels": int(feat_num), "per": per, "clusters": {}}
        return None
    if len(found) > 1:
        notes.append(f"several cluster files; using {found[0].name}")
    from translate.model_files.pickles import load_npy_safely

    table = load_npy_safely(found[0], "feature cluster file")
    if not isinstance(table, Mapping):
        raise CheckpointError(f"{found[0]}: expected pix2pixHD's label -> cluster centres mapping, "
                              f"got {type(table).__name__}")
    clusters: Dict[str, List[List[float]]] = {}
    widths = set()
    for label, centres in table.items():
        try:
            rows = torch.as_tensor(centres, dtype=torch.float64)
            label = int(label)
        except (TypeError, ValueError, RuntimeError):
            rows = torch.zeros(0)
        if rows.dim() != 2 or not torch.isfinite(rows).all():
            raise CheckpointError(f"{found[0]}: label {label}: centres must be a finite k x n array")
        if len(rows):
            clusters[str(label)] = rows.tolist()
            widths.add(rows.shape[1])
    if len(widths) != 1:
        raise CheckpointError(f"{found[0]}: the cluster centres must all have one length, got {sorted(widths)}")
    notes.append(f"feature clusters from {found[0].name} ({len(clusters)} labels; in the file's order, "
                 f"not by how common)")
    return {"channels": widths.pop(), "per": per, "clusters": clusters}


def load_reference_generator(path: Path, direction: Optional[str] = None) -> Tuple[nn.Module, GeneratorSpec]:
    """``load_generator`` for a bare ``.pth``/``.pt``: one generator, direction from its name."""
    path = Path(path).expanduser()
    own = direction_from_name(path)
    if direction is not None and direction != own:
        raise CheckpointError(
            f"{path}: holds a single generator ({own}, by its file name), not {direction}; "
            "pass the other direction's own file instead"
        )
    imported = import_file(path, own)
    return imported.net, imported.spec


def save_imported(folder: Path, imported: Mapping[str, ImportedGenerator], file_names: Mapping[str, str],
                  translator: Optional[str] = None, source: Optional[Dict[str, Any]] = None) -> Path:
    """Save imported generators as a run folder.

    The folder then holds safetensors + metadata like a trained run (``apply``, ``export``
    and ``inspect`` read it without the original), plus ``source.json`` saying where the
    weights came from and what the import adjusted.
    """
    folder = Path(folder)
    name = translator or next(iter(imported.values())).spec.translator
    for item in imported.values():
        item.spec.translator = name
    provenance = dict(source or {})
    provenance["files"] = {d: {"file": file_names[d], "layout": i.layout.description,
                               "parameters": i.layout.parameters, "notes": i.notes}
                           for d, i in imported.items()}
    atomic_write_text(folder / SOURCE_FILE, json.dumps(provenance, indent=2) + "\n")
    # translate.json is written last by save_run, so a half-converted folder never looks complete.
    save_run(folder, {d: (i.net, i.spec) for d, i in imported.items()}, step=0, translator=name)
    return folder


# --------------------------------------------------------------------------- test-script mode


class ReferenceTestMode(Generator):
    """A generator that always runs as the reference ``test.py`` runs it by default.

    That script never calls ``eval()`` unless given ``--eval``: batch norm normalises each
    image with its own statistics and dropout stays on (random), which is how the published
    pix2pix results were produced. This wrapper keeps the inner network in training mode
    whatever ``eval()``/``train()`` is called on it, and runs images one at a time, as the
    script's batch size of 1 did, so batch norm never mixes statistics across images.
    Instance norm without running statistics is the same in both modes.
    """

    def __init__(self, net: Generator):
        super().__init__()
        self.net = net
        # A wrapper declares what its generator declares (it has no encoder of its own to expose).
        self.size_multiple = net.size_multiple
        self.in_channels, self.out_channels = net.in_channels, net.out_channels
        self.train(False)

    def train(self, mode: bool = True) -> "ReferenceTestMode":
        super().train(mode)
        self.net.train(True)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(x[i:i + 1]) for i in range(x.shape[0])], dim=0)


def reference_test_mode(net: Generator) -> Generator:
    """Wrap ``net`` so it behaves as under the reference test script (see ``ReferenceTestMode``)."""
    return net if isinstance(net, ReferenceTestMode) else ReferenceTestMode(net)
