"""Feature networks behind FID/KID (Inception) and LPIPS (AlexNet/VGG), read only from local files.

Nothing here downloads. Each network's ImageNet weights are looked for, in order, at an
explicit file, in ``WeightPaths.folder`` and in the torch hub cache
(``<torch.hub.get_dir()>/checkpoints``), under the file names the usual downloaders give them:

* Inception for FID/KID: torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` (what
  torchmetrics' FID downloads through torch-fidelity) or pytorch-fid's
  ``pt_inception-2015-12-05-6726825d.pth``; both are the TF-slim FID Inception converted to
  PyTorch, and the file is loaded strictly, so one that does not fit says so.
* LPIPS backbones: torchvision's ``alexnet-owt-7be5be79.pth`` and ``vgg16-397923af.pth``.
  LPIPS's own linear layers (the v0.1 weights of Zhang et al.) ship inside the torchmetrics wheel
  (``torchmetrics/functional/image/lpips_models/``, byte-identical to the ``lpips`` package's).

A missing file raises ``MissingWeightsError`` whose message names the file and where it was
looked for; the evaluator turns that into "metric skipped" and runs the other metrics.

Every file is read with ``torch.load(weights_only=True)``. torch-fidelity's Inception
constructor insists on calling ``torch.load`` itself (without ``weights_only`` in its newer
releases), so it is handed an in-memory copy of the already-validated tensors, never the file.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from translate.errors import InvalidSettingError, TranslateError

INCEPTION_FILES = ("weights-inception-2015-12-05-6726825d.pth", "pt_inception-2015-12-05-6726825d.pth")
# LPIPS backbone name (torchmetrics' ``net``) -> torchvision's file name for its ImageNet weights.
LPIPS_BACKBONE_FILES = {"alex": ("alexnet-owt-7be5be79.pth",), "vgg": ("vgg16-397923af.pth",)}
INCEPTION_FEATURES = 2048  # pool3 features, what FID and KID are defined on
# How messages name each network.
NETWORK_LABELS = {"inception": "FID Inception", "alex": "LPIPS AlexNet backbone", "vgg": "LPIPS VGG16 backbone"}


class MissingWeightsError(TranslateError, FileNotFoundError):
    """A feature network's weights file is not on this machine; one line naming the file."""

    def __str__(self) -> str:
        return str(self.args[0])


class WeightsFileError(TranslateError, ValueError):
    """A weights file exists but cannot be used; one line naming the file and the problem."""


@dataclass
class WeightPaths:
    """Where feature-network weights are looked for. Nothing is ever downloaded.

    ``files`` maps a network ("inception", "alex", "vgg") to an explicit file that wins over the
    search. ``random=True`` builds every network with random (He-initialised) weights and reads
    no file: only for tests, the numbers mean nothing.
    """

    folder: Optional[str] = None
    files: Dict[str, str] = field(default_factory=dict)
    random: bool = False

    def search_dirs(self) -> list[Path]:
        dirs = [Path(self.folder).expanduser()] if self.folder else []
        return dirs + [Path(torch.hub.get_dir()) / "checkpoints"]

    def find(self, network: str, names: Sequence[str]) -> Path:
        explicit = self.files.get(network)
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                raise MissingWeightsError(f"{NETWORK_LABELS.get(network, network)} weights not found at {path}")
            return path
        for folder in self.search_dirs():
            for name in names:
                if (folder / name).is_file():
                    return folder / name
        where = " or ".join(str(d) for d in self.search_dirs())
        raise MissingWeightsError(
            f"{NETWORK_LABELS.get(network, network)} weights not found: looked for {' / '.join(names)} in {where} "
            f"(nothing is downloaded; copy the file there or pass its path)"
        )


def load_state(path: Path) -> Dict[str, Tensor]:
    """A plain state dict of tensors; never executes code from the file."""
    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # hostile: our sentence, never torch's advice to unlock it
        from translate.checkpoint import refusal_reason

        raise WeightsFileError(f"{path}: refused: {refusal_reason(exc)}, and no code from a file is ever "
                               f"run.") from None
    except Exception as exc:  # corrupt or truncated file: one line, naming it
        raise WeightsFileError(f"{path}: cannot load weights ({' '.join(str(exc).split())[:200]})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsFileError(f"{path}: not a state dict of tensors")
    return state


def _he_init(net: nn.Module) -> nn.Module:
    # PyTorch's default conv init shrinks activations layer by layer; through Inception's ~50
    # layers random features collapse to ~1e-8 and every FID is 0. He init keeps them alive, so
    # tests with random networks still see distributions differ.
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net


# --- Inception (FID, KID) ------------------------------------------------------------------------


def _in_memory(state: Dict[str, Tensor]) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def build_inception(paths: WeightPaths) -> nn.Module:
    """The FID Inception-v3: uint8 NCHW RGB images of any size -> N x 2048 float32 features.

    torchmetrics' ``NoTrainInceptionV3`` (torch-fidelity's port of the TF-slim network, always in
    eval mode) with ``antialias=False``: images are resized to 299x299 exactly as TensorFlow 1.x
    did, so numbers are comparable with published FIDs (torchmetrics' own default anti-aliases).
    """
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MissingWeightsError(f"FID/KID need torchmetrics and torch-fidelity installed ({exc})") from None
    path = None if paths.random else paths.find("inception", INCEPTION_FILES)
    state = {} if path is None else load_state(path)

    class _Inception(NoTrainInceptionV3):
        num_features = INCEPTION_FEATURES  # tells torchmetrics the width without a dummy forward

        def load_state_dict(self, state_dict, strict=True, assign=False):  # noqa: D401
            if not state_dict:  # random=True: keep the freshly initialised weights
                return None
            try:
                return super().load_state_dict(state_dict, strict=strict, assign=assign)
            except RuntimeError as exc:
                raise WeightsFileError(
                    f"{path}: does not fit the FID Inception ({str(exc).splitlines()[0]})"
                ) from None

    try:
        net = _Inception("inception-v3-compat", [str(INCEPTION_FEATURES)], _in_memory(state), antialias=False)
    except ModuleNotFoundError as exc:
        raise MissingWeightsError(f"FID/KID need torch-fidelity installed ({exc})") from None
    return _he_init(net) if paths.random else net


# --- LPIPS -------------------------------------------------------------------------------------

_SLICE_KEY = re.compile(r"^slice\d+\.(\d+)\.(.+)$")


def _backbone_state(net: nn.Module, torchvision_state: Dict[str, Tensor], path: Path) -> Dict[str, Tensor]:
    """torchvision ``features.<i>.<param>`` keys -> LPIPS' ``slice<k>.<i>.<param>`` keys.

    LPIPS cuts torchvision's ``features`` Sequential into slices but keeps each layer's index,
    so the index in the slice key is the index in ``features``.
    """
    out = {}
    for key in net.state_dict():
        match = _SLICE_KEY.match(key)
        source = f"features.{match.group(1)}.{match.group(2)}" if match else key
        if source not in torchvision_state:
            raise WeightsFileError(f"{path}: no {source} (is it torchvision's ImageNet file for this network?)")
        out[key] = torchvision_state[source]
    return out


def lpips_linear_weights(net: str) -> Path:
    """The LPIPS v0.1 linear-layer weights bundled in the torchmetrics wheel."""
    import torchmetrics.functional.image.lpips as tm_lpips

    return Path(os.path.dirname(tm_lpips.__file__)) / "lpips_models" / f"{net}.pth"


def build_lpips(net: str, paths: WeightPaths) -> nn.Module:
    """LPIPS (Zhang et al. 2018) as torchmetrics implements it: (x, y) in [-1, 1] -> N x 1 x 1 x 1.

    Built with a random backbone (so torchvision downloads nothing), then the backbone's ImageNet
    weights are loaded from the local torchvision file and the linear layers from the wheel.
    """
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    if net not in LPIPS_BACKBONE_FILES:
        raise InvalidSettingError(f"unknown LPIPS backbone {net!r} (known: {', '.join(LPIPS_BACKBONE_FILES)})")
    backbone_path = None if paths.random else paths.find(net, LPIPS_BACKBONE_FILES[net])
    model = _NoTrainLpips(pretrained=False, net=net, pnet_rand=True)
    if backbone_path is None:
        _he_init(model.net)
    else:
        model.net.load_state_dict(_backbone_state(model.net, load_state(backbone_path), backbone_path))
    linear = load_state(lpips_linear_weights(net))
    missing, unexpected = model.load_state_dict(linear, strict=False)
    # lins.N.* name the same modules as linN.* (a ModuleList over them): only linN.* must load.
    if unexpected or any(re.match(r"lin\d", key) for key in missing):
        raise WeightsFileError(f"{lpips_linear_weights(net)}: LPIPS linear weights do not fit")
    return model.eval().requires_grad_(False)


# Feature network name -> builder; metrics name the network they need (see metrics.py).
FEATURE_NETWORKS: Dict[str, Callable[[WeightPaths], nn.Module]] = {
    "inception": build_inception,
    "lpips_alex": lambda paths: build_lpips("alex", paths),
    "lpips_vgg": lambda paths: build_lpips("vgg", paths),
}


class FeatureNets:
    """Builds each feature network once, on first use, and keeps it on ``device``.

    A network whose weights are missing is remembered as missing, so a training run that
    evaluates every N steps reports the missing file once and does not search again.
    """

    def __init__(self, paths: WeightPaths, device: torch.device = torch.device("cpu")):
        self.paths, self.device = paths, torch.device(device)
        self._nets: Dict[str, nn.Module] = {}
        self._errors: Dict[str, Exception] = {}
        # (network, image key) -> features of a real image; see MetricSuite.cached_real.
        self.real_cache: Dict[Tuple[str, str], Tensor] = {}

    def get(self, name: str) -> nn.Module:
        if name in self._errors:
            raise self._errors[name]
        if name not in self._nets:
            try:
                self._nets[name] = FEATURE_NETWORKS[name](self.paths).to(self.device)
            except (MissingWeightsError, WeightsFileError) as exc:
                self._errors[name] = exc
                raise
        return self._nets[name]
