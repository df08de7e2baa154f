"""Every way the server loads and runs a model, in one place.

The server never touches checkpoints, generators or pipelines except through this module. Image
and video models run through the public API (``translate.load``: tiling, precision, video with
audio); every other kind of model runs through the registered pipeline that declares it
(``translate.pipelines.registry``), given the same loaded model. What kind a checkpoint is comes
from that module's table (``model_kind``), never from names written here.

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

from translate.choices import DEFAULT_PRECISION, PRECISIONS
from translate.errors import TranslateError
from translate.pipelines.registry import IMAGE, Pipeline, PipelineJob, list_pipelines, model_kind
from translate.serve.domains import FALLBACK, Domains, direction_label, model_label, read_domains
from translate.serve.requests import RequestError, choose, largest_side

Progress = Callable[[float, str], None]  # fraction done (0..1), what is happening
VIDEO_BATCH = 4  # frames per model call in a video: the memory check counts all of them


class ModelNotFound(TranslateError, ValueError):
    """A model name the server does not offer."""


@dataclass
class ServedModel:
    """One entry of the model menu: a run folder or a weights file, read but not yet loaded."""

    name: str
    path: Path
    kind: str  # IMAGE or a MODEL_KINDS name (translate.pipelines.registry): which tab runs it
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

    @property
    def reads_labels(self) -> bool:
        """Whether uploads are label maps (pix2pixHD on Cityscapes-like ids), not pictures."""
        first = next(iter((self.metadata.get("generators") or {}).values()), {})
        return (first.get("preprocess") or {}).get("input") == "label"

    @property
    def num_classes(self) -> Optional[int]:
        first = next(iter((self.metadata.get("generators") or {}).values()), {})
        return (first.get("preprocess") or {}).get("num_classes") if self.reads_labels else None

    def feature_clusters(self):
        """pix2pixHD's feature clusters, for a model trained with its feature encoder; else None."""
        from translate.apply.inputs import feature_clusters

        first = next(iter((self.metadata.get("generators") or {}).values()), {})
        return feature_clusters(first.get("preprocess")) if self.reads_labels else None

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
        preprocess = first.get("preprocess") or {}
        if preprocess.get("input") == "label":
            info["reads"] = f"label maps ({preprocess.get('num_classes')} classes, single-channel PNG ids)"
        clusters = self.feature_clusters()
        if clusters is not None:
            info["feature clusters"] = clusters.describe()
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


def read_model(path: Path, name: Optional[str] = None, stages: Iterable[str] = ()) -> ServedModel:
    """Describe a checkpoint without loading its weights (a folder) or by loading it (a file).

    ``stages``: generators a pipeline loads itself (a pose2frame run's face stage), which are part
    of the model, not directions to pick."""
    from translate.checkpoint import read_metadata
    from translate.interop.loading import load_generator

    path = Path(path).expanduser()
    if path.is_dir():
        meta = read_metadata(path)
        generators, hidden = meta.get("generators") or {}, set(stages)
        directions = [d for d in generators if d not in hidden]
        first = generators[directions[0]] if directions else {}
        kind = model_kind(meta.get("translator", ""), first.get("preprocess"))
    else:
        _, spec = load_generator(path)  # a bare file names its architecture only inside; it is small
        directions, kind = [spec.direction], model_kind(spec.translator, spec.preprocess)
        meta = {"translator": spec.translator, "generators": {spec.direction: {
            "architecture": spec.architecture, "preprocess": spec.preprocess, "translator": spec.translator}}}
    return ServedModel(name or path.name, path, kind, directions, meta, read_domains(path))


def discover(roots: Iterable[Path], extra: Sequence[Path] = (),
             pipelines: Optional[Sequence[Pipeline]] = None) -> Tuple[List[ServedModel], List[str]]:
    """Models in every run folder under ``roots`` (two levels deep) plus ``extra`` paths.

    Returns the models and one line per checkpoint that could not be read (shown, not fatal).
    An ``extra`` path that does not exist is the user's typo: it raises at start-up instead.
    ``pipelines`` (default: every registered one) name the stages that are not directions."""
    for path in extra:
        if not Path(path).expanduser().exists():
            raise ModelNotFound(f"--checkpoint {path}: no such file or folder")
    stages = {s for p in (list_pipelines() if pipelines is None else pipelines) for s in p.stages}
    found: Dict[Path, ServedModel] = {}
    problems: List[str] = []
    for path in [*_run_folders(roots), *[Path(p).expanduser() for p in extra]]:
        key = path.resolve()
        if key in found:
            continue
        try:
            found[key] = read_model(path, stages=stages)
        except TranslateError as exc:
            problems.append(str(exc))
    models = list(found.values())
    _distinct_names(models)
    return models, problems


def _run_folders(roots: Iterable[Path]) -> List[Path]:
    """Folders with a translate.json, the roots themselves and two levels under them; a run's
    checkpoint history (``steps/<step>/``) is part of that run, not a model of its own."""
    from translate.serve.runs import is_history

    candidates: List[Path] = []
    for root in map(Path, roots):
        if root.is_dir():
            for pattern in ("translate.json", "*/translate.json", "*/*/translate.json"):
                candidates += sorted(p.parent for p in root.glob(pattern))
    return [c for c in candidates if not is_history(c)]


def _distinct_names(models: Sequence[ServedModel]) -> None:
    """Two runs called "latest" in different folders must stay distinguishable: both get their parent's name."""
    counts: Dict[str, int] = {}
    for model in models:
        counts[model.name] = counts.get(model.name, 0) + 1
    for model in models:
        if counts[model.name] > 1:
            model.name = f"{model.path.parent.name}/{model.path.name}"


class ModelCache:
    """Loaded generators, kept for the server's life, and the lock that serialises the device.

    ``pipelines`` (default: every registered one) are what it can run besides image models; the
    page makes a tab of each."""

    def __init__(self, models: Sequence[ServedModel], device: str = "auto",
                 pipelines: Optional[Sequence[Pipeline]] = None):
        from translate.devices import configure_threads, resolve_device

        configure_threads()
        self.models = {m.name: m for m in models}
        self.pipelines = {p.name: p for p in (list_pipelines() if pipelines is None else pipelines)}
        self.device = resolve_device(device)
        self.lock = threading.Lock()
        self._nets: Dict[Tuple[str, str], Any] = {}

    def get(self, name: str) -> ServedModel:
        try:
            return self.models[name]
        except KeyError:
            raise ModelNotFound(f"no model called {name!r}; choose one from the list") from None

    def pipeline(self, name: str) -> Pipeline:
        """A pipeline this server runs, by name."""
        try:
            return self.pipelines[name]
        except KeyError:
            raise ModelNotFound(f"no pipeline called {name!r}; this server runs "
                                f"{', '.join(self.pipelines) or 'none'}") from None

    def home(self, model: ServedModel) -> Optional[Pipeline]:
        """The pipeline that runs ``model``'s kind; None for an image model (or a kind none runs)."""
        return next((p for p in self.pipelines.values() if p.model == model.kind and model.kind != IMAGE), None)

    def refuse_kind(self, model: ServedModel) -> ModelNotFound:
        """The one line for a model asked of a tab that does not run its kind: where it does run."""
        if model.kind == IMAGE:
            return ModelNotFound(f"{model.name} is an image model: use the Try a model tab")
        home = self.home(model)
        return ModelNotFound(f"{model.name} is a {home.name if home else model.kind} model: use its own tab")

    def _require(self, name: str, kind: str) -> ServedModel:
        model = self.get(name)
        if model.kind != kind:
            raise self.refuse_kind(model)
        return model

    def check_request(self, name: str, direction: Optional[str], precision: str, kind: str = IMAGE) -> ServedModel:
        """The model a request names, refused before any upload is read when it does not exist, is
        another kind, or has no such direction or precision."""
        model = self._require(name, kind)
        choose(direction, model.directions, "direction")
        choose(precision, PRECISIONS, "precision")
        return model

    def choices(self, kind: Optional[str] = None) -> List[Tuple[str, str]]:
        """(label, name) pairs for a model menu: the label says what A and B are."""
        return [(m.label, n) for n, m in self.models.items() if kind is None or m.kind == kind]

    def _load(self, model: ServedModel, direction: Optional[str], precision: str = DEFAULT_PRECISION):
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
        from translate.apply.memory import MEMORY_FRACTION

        model = self.get(name)
        with self.lock:
            loaded = self._load(model, direction)
            per_pixel = loaded.bytes_per_pixel()  # the inference object's own estimate, measured once
        h, w = shape
        ok, needed, free = loaded.memory_for(h, w, batch)
        if not ok:
            longest = largest_side(h, w, free * MEMORY_FRACTION / per_pixel / batch)
            raise RequestError(f"{w}x{h} needs about {needed / 2**30:.1f} GiB with {name}, more than the "
                               f"{free * MEMORY_FRACTION / 2**30:.1f} GiB this server can spare; ask for a size "
                               f"of at most {longest}")

    def translate_image(self, name: str, image: np.ndarray, direction: Optional[str] = None,
                        precision: str = DEFAULT_PRECISION, size: Optional[int] = None) -> np.ndarray:
        """RGB uint8 HxWx3 -> the translated image; the input's size unless ``size`` (long side) is given."""
        from translate.data import resize_long_side

        model = self._require(name, IMAGE)
        if size:
            image = resize_long_side(image, int(size))
        with self.lock:
            out = self._load(model, direction, precision)(np.ascontiguousarray(image))
        return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out  # the page shows RGB

    def translate_label_map(self, name: str, path: Path, direction: Optional[str] = None,
                            precision: str = DEFAULT_PRECISION, size: Optional[int] = None, features: str = "",
                            max_pixels: Optional[int] = None) -> np.ndarray:
        """A label-map upload (class ids) -> the translated picture, with the clusters ``features``
        names for a model trained with pix2pixHD's feature encoder (refused for one without)."""
        model = self._require(name, IMAGE)
        with self.lock:
            loaded = self._load(model, direction, precision)
            loaded.choose_features(features or None)
            return loaded.translate_file(path, size, max_pixels)

    def translate_video(self, name: str, source: Path, destination: Path, direction: Optional[str] = None,
                        precision: str = DEFAULT_PRECISION, size: Optional[int] = None,
                        progress: Progress = lambda f, m: None, expected_frames: int = 0, max_frames: int = 0):
        """Video in, translated video out (audio kept); ``progress`` hears every frame, and the
        job stops with ``RequestError`` past ``max_frames`` (a header can understate the length)."""
        model = self._require(name, IMAGE)
        with self.lock:
            counter = _FrameCounter(progress, expected_frames, max_frames)
            return self._load(model, direction, precision).translate_video(
                Path(source), Path(destination), batch_size=VIDEO_BATCH, size=size or None, progress=False,
                on_frames=counter.update, on_message=lambda m: None)

    def run_pipeline(self, pipeline: Pipeline, name: str, source: Path, destination: Path,
                     precision: str = DEFAULT_PRECISION, choice: str = "") -> str:
        """``pipeline`` on one upload with the model ``name`` (loaded once and kept, as for images)
        and the user's ``choice`` (the answer to its Pick); returns the pipeline's one line about what it did."""
        model = self._require(name, pipeline.model)
        with self.lock:
            loaded = self._load(model, None, precision)
            return pipeline.run(PipelineJob(loaded, model.path, Path(source), Path(destination), choice))


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
