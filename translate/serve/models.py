"""Every way the server loads and runs a model, in one place.

The server never touches checkpoints, generators or pipelines except through this module. Image
and video models run through the public API (``translate.load``: tiling, precision, video with
audio); face swap and dance run their pipelines from ``translate.pipelines``.

Models are loaded once per (checkpoint, direction) and kept; every run holds ``ModelCache.lock``
so two requests never use the device at once, whatever tab they come from.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from translate.errors import TranslateError
from translate.serve.domains import FALLBACK, Domains, direction_label, model_label, read_domains
from translate.serve.requests import RequestError, choose, largest_side

Progress = Callable[[float, str], None]  # fraction done (0..1), what is happening
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
KIND_IMAGE, KIND_FACESWAP, KIND_DANCE = "image", "faceswap", "dance"
VIDEO_BATCH = 4  # frames per model call in a video: the memory check counts all of them
_HIDDEN_DIRECTIONS = {"face"}  # a pose2frame run's face stage is part of the dance, not a model to pick


class ModelNotFound(TranslateError, ValueError):
    """A model name the server does not offer."""


@dataclass
class ServedModel:
    """One entry of the model menu: a run folder or a weights file, read but not yet loaded."""

    name: str
    path: Path
    kind: str
    directions: List[str]
    metadata: Dict[str, Any] = field(default_factory=dict)
    domains: Domains = FALLBACK  # what A and B are ("photo", "comic"), for the menus

    @property
    def label(self) -> str:
        """The menu entry: the name and what it translates (``demo_comic (photo <-> comic)``)."""
        return model_label(self.name, self.directions, self.domains)

    def direction_choices(self) -> List[Tuple[str, str]]:
        """(label, value) pairs for the direction menu: ``("comic -> photo", "BtoA")``."""
        return [(direction_label(d, self.domains), d) for d in self.directions]

    def describe(self) -> Dict[str, Any]:
        """What the page shows about the model: translator, architecture, steps, eval metrics."""
        first = next(iter((self.metadata.get("generators") or {}).values()), {})
        info = {
            "name": self.name,
            "path": _shown_path(self.path),
            "translator": self.metadata.get("translator") or first.get("translator") or "unknown",
            "architecture": first.get("architecture", "unknown"),
            "training steps": self.metadata.get("step", "unknown"),
            "directions": ", ".join(label for label, _ in self.direction_choices()),
            "trained at size": (first.get("preprocess") or {}).get("size", "unknown"),
        }
        info.update({f"eval {k}": v for k, v in latest_eval(self.path).items()})
        return info


def _shown_path(path: Path) -> str:
    """Relative to where the server runs; never the absolute layout of the server's disk."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return Path(path).name


def latest_eval(path: Path) -> Dict[str, float]:
    """The newest metrics a run has: its training eval log, else a `translate eval` JSON beside it."""
    from translate.serve.runs import read_eval_log

    if not Path(path).is_dir():
        return {}
    rows = read_eval_log(Path(path))
    if rows:
        return {k: v for k, v in rows[-1].items() if k != "step"}
    for report in sorted(Path(path).glob("eval_*.json")):
        try:
            data = json.loads(report.read_text())
            return {m.get("metric", "?") + (f"_{m['direction']}" if m.get("direction") else ""): m["value"]
                    for m in data.get("metrics", []) if isinstance(m.get("value"), (int, float))}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # someone else's JSON or a half-edited file: no metrics rather than no page
    return {}


def _kind(translator: str, preprocess: Dict[str, Any]) -> str:
    if preprocess.get("input") == "pose_sequence":
        return KIND_DANCE
    if translator == "faceswap" or preprocess.get("faces"):
        return KIND_FACESWAP
    return KIND_IMAGE


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


def read_model(path: Path, name: Optional[str] = None) -> ServedModel:
    """Describe a checkpoint without loading its weights (a folder) or by loading it (a file)."""
    from translate.checkpoint import read_metadata
    from translate.interop.loading import load_generator

    path = Path(path).expanduser()
    if path.is_file() and _is_torchscript(path):
        raise ModelNotFound(f"{path}: a TorchScript export cannot be served (it has no architecture to rebuild); "
                            f"give its run folder or its .safetensors instead")
    if path.is_dir():
        meta = read_metadata(path)
        generators = meta.get("generators") or {}
        directions = [d for d in generators if d not in _HIDDEN_DIRECTIONS]
        first = generators[directions[0]] if directions else {}
        kind = _kind(meta.get("translator", ""), first.get("preprocess") or {})
    else:
        _, spec = load_generator(path)  # a bare file names its architecture only inside; it is small
        directions, kind = [spec.direction], _kind(spec.translator, spec.preprocess or {})
        meta = {"translator": spec.translator, "generators": {spec.direction: {
            "architecture": spec.architecture, "preprocess": spec.preprocess, "translator": spec.translator}}}
    return ServedModel(name or path.name, path, kind, directions, meta, read_domains(path))


def discover(roots: Iterable[Path], extra: Sequence[Path] = ()) -> Tuple[List[ServedModel], List[str]]:
    """Models in every run folder under ``roots`` (two levels deep) plus ``extra`` paths.

    Returns the models and one line per checkpoint that could not be read (shown, not fatal).
    An ``extra`` path that does not exist is the user's typo: it raises at start-up instead.
    A run's checkpoint history (``steps/<step>/``) is part of that run, not a model of its own."""
    from translate.serve.runs import is_history
    found: Dict[Path, ServedModel] = {}
    problems: List[str] = []
    candidates: List[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_dir():
            candidates += sorted(p.parent for p in root.glob("translate.json"))
            candidates += sorted(p.parent for p in root.glob("*/translate.json"))
            candidates += sorted(p.parent for p in root.glob("*/*/translate.json"))
    candidates = [c for c in candidates if not is_history(c)]
    for path in extra:
        if not Path(path).expanduser().exists():
            raise ModelNotFound(f"--checkpoint {path}: no such file or folder")
    for path in [*candidates, *[Path(p).expanduser() for p in extra]]:
        key = path.resolve()
        if key in found:
            continue
        try:
            found[key] = read_model(path)
        except TranslateError as exc:
            problems.append(str(exc))
    models = list(found.values())
    names: Dict[str, int] = {}
    for model in models:  # two runs called "latest" in different folders must stay distinguishable
        names[model.name] = names.get(model.name, 0) + 1
    for model in models:
        if names[model.name] > 1:
            model.name = f"{model.path.parent.name}/{model.path.name}"
    return models, problems


class ModelCache:
    """Loaded generators, kept for the server's life, and the lock that serialises the device."""

    def __init__(self, models: Sequence[ServedModel], device: str = "auto"):
        from translate.devices import configure_threads, resolve_device

        configure_threads()
        self.models = {m.name: m for m in models}
        self.device = resolve_device(device)
        self.lock = threading.Lock()
        self._nets: Dict[Tuple[str, str], Any] = {}
        self._per_pixel: Dict[Tuple[str, str, str], float] = {}

    def get(self, name: str) -> ServedModel:
        try:
            return self.models[name]
        except KeyError:
            raise ModelNotFound(f"no model called {name!r}; choose one from the list") from None

    def names(self, kind: Optional[str] = None) -> List[str]:
        return [n for n, m in self.models.items() if kind is None or m.kind == kind]

    def check_request(self, name: str, direction: Optional[str], precision: str, kind: str = KIND_IMAGE) -> ServedModel:
        """The model a request names, refused before any upload is read when it does not exist, is
        another kind, or has no such direction or precision."""
        model = self.get(name)
        if model.kind != kind:
            raise ModelNotFound(f"{name} is a {model.kind} model: use its own tab")
        choose(direction, model.directions, "direction")
        choose(precision, PRECISIONS, "precision")
        return model

    def choices(self, kind: Optional[str] = None) -> List[Tuple[str, str]]:
        """(label, name) pairs for a model menu: the label says what A and B are."""
        return [(m.label, n) for n, m in self.models.items() if kind is None or m.kind == kind]

    def _load(self, model: ServedModel, direction: Optional[str], precision: str = "auto"):
        """The model through the public API (``translate.load``), loaded once and kept; its
        tiling is auto: a photo too large for memory is translated in tiles instead of failing.
        A direction or precision that does not exist is refused, not replaced by a default."""
        from translate.api import load

        direction = choose(direction, model.directions, "direction")
        precision = choose(precision, PRECISIONS, "precision")
        key = (model.name, direction)
        if key not in self._nets:
            self._nets[key] = load(model.path, direction, device=str(self.device))
        return self._nets[key].to(str(self.device), precision)

    def check_fits(self, name: str, direction: Optional[str], shape: Tuple[int, int], batch: int = 1) -> None:
        """Refuse a request whose frames would not fit in the device's memory whole, by apply's own
        estimate (``translate.apply.memory``: activation bytes per pixel, measured once per model).
        Tiling would fit them, but a request that asks for more than the machine holds is a mistake
        or an attack, and tiles of it would hold the only model slot for minutes."""
        from translate.apply.memory import MEMORY_FRACTION, bytes_per_pixel, fits

        model = self.get(name)
        with self.lock:
            loaded = self._load(model, direction)
            key = ("bytes_per_pixel", model.name, loaded.spec.direction)
            if key not in self._per_pixel:
                self._per_pixel[key] = bytes_per_pixel(loaded.generator, loaded.spec.in_channels, self.device) or 0.0
        per_pixel = self._per_pixel[key]
        h, w = shape
        ok, needed, free = fits(per_pixel, h * w * batch, self.device) if per_pixel else (True, 0, None)
        if not ok:
            longest = largest_side(h, w, free * MEMORY_FRACTION / per_pixel / batch)
            raise RequestError(f"{w}x{h} needs about {needed / 2**30:.1f} GiB with {name}, more than the "
                               f"{free * MEMORY_FRACTION / 2**30:.1f} GiB this server can spare; ask for a size "
                               f"of at most {longest}")

    def translate_image(self, name: str, image: np.ndarray, direction: Optional[str] = None,
                        precision: str = "auto", size: Optional[int] = None) -> np.ndarray:
        """RGB uint8 HxWx3 -> the translated image; the input's size unless ``size`` (long side) is given."""
        from translate.data import resize_long_side

        model = self.get(name)
        if model.kind != KIND_IMAGE:
            raise ModelNotFound(f"{name} is a {model.kind} model: use its own tab")
        if size:
            image = resize_long_side(image, int(size))
        with self.lock:
            out = self._load(model, direction, precision)(np.ascontiguousarray(image))
        return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out  # the page shows RGB

    def translate_video(self, name: str, source: Path, destination: Path, direction: Optional[str] = None,
                        precision: str = "auto", size: Optional[int] = None,
                        progress: Progress = lambda f, m: None, expected_frames: int = 0, max_frames: int = 0):
        """Video in, translated video out (audio kept); ``progress`` hears every frame, and the
        job stops with ``RequestError`` past ``max_frames`` (a header can understate the length)."""
        model = self.get(name)
        if model.kind != KIND_IMAGE:
            raise ModelNotFound(f"{name} is a {model.kind} model: use its own tab")
        with self.lock:
            counter = _FrameCounter(progress, expected_frames, max_frames)
            return self._load(model, direction, precision).translate_video(
                Path(source), Path(destination), batch_size=VIDEO_BATCH, size=size or None, progress=False,
                on_frames=counter.update, on_message=lambda m: None)

    def faceswap_video(self, name: str, source: Path, destination: Path, direction: Optional[str] = None,
                       precision: str = "auto") -> str:
        """The whole face swap pipeline (detect, align, translate, blend) on a video or photo."""
        from translate.people.faces_align import AlignSpec
        from translate.people.faces_detect import build_detector
        from translate.pipelines.faceswap import FaceSwapper, SwapOptions
        from translate.pipelines.faceswap_batch import swap_batch
        from translate.apply.video import VideoOptions

        model = self.get(name)
        with self.lock:
            loaded = self._load(model, direction, precision)
            spec = loaded.spec
            options = SwapOptions(AlignSpec(int((spec.preprocess or {}).get("size") or 256)))
            with build_detector("mediapipe") as detector:
                swapper = FaceSwapper(loaded.generator, self.device, detector, options, loaded.dtype)
                report = swap_batch(swapper, [(Path(source), Path(destination))], VideoOptions(), overwrite=True,
                                    progress=False, on_message=lambda m: None)
        if report.failed:
            raise TranslateError(report.failed[0][1])
        return f"face swap done ({spec.architecture})"

    def dance_video(self, name: str, source: Path, destination: Path, precision: str = "auto") -> str:
        """Pose transfer: the checkpoint's person does the moves of the person in ``source``."""
        from translate.interop.loading import load_generator
        from translate.pipelines.dance import DanceOptions, dance

        model = self.get(name)
        with self.lock:
            loaded = self._load(model, model.directions[0], precision)
            face = None
            if model.path.is_dir() and "face" in (model.metadata.get("generators") or {}):
                face = load_generator(model.path, "face")
            # The page has no --target-stats: without the dataset's pose statistics in the checkpoint,
            # the source is drawn in its own framing (as --no-normalise), and the status says so.
            normalise = bool((loaded.spec.preprocess or {}).get("pose_stats"))
            result = dance((loaded.generator, loaded.spec), Path(source), Path(destination),
                           DanceOptions(normalise=normalise, progress=False), self.device, loaded.dtype,
                           lambda m: None, face)
        if result.problem:
            raise TranslateError(f"dance: {result.problem}")
        framing = "" if normalise else " (not normalised: the checkpoint has no pose statistics)"
        return f"{result.frames} frames, {result.fps():.1f} frames/s{framing}"


class _FrameCounter:
    """Hears the video's frames as they are written (``Model.translate_video(on_frames=...)``) and
    moves the page's progress bar; past ``limit`` frames it raises, which stops the video
    pipeline and removes its partial output (``translate.apply.video`` re-raises it)."""

    def __init__(self, progress: Progress, expected: int, limit: int = 0):
        self.progress, self.expected, self.limit, self.n = progress, max(expected, 0), limit, 0

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.limit and self.n > self.limit:
            raise RequestError(f"the video has more than {self.limit} frames, the limit of this server; "
                               f"stopped (cut it shorter)")
        fraction = min(self.n / self.expected, 0.99) if self.expected else 0.0
        self.progress(fraction, f"frame {self.n}" + (f" of {self.expected}" if self.expected else ""))
