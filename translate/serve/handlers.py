"""What each button on the page does, as plain Python (no Gradio here, so it is tested directly).

Each handler checks its uploads (``safety``), runs the model (``models``), writes results into
the server's ``OutputFolder`` and returns paths and a one-line status. A user's mistake (a
corrupt file, an oversized upload, an unknown model) comes back as that status line; anything
else is logged with its traceback and reported as an internal error, and the server goes on.
"""
from __future__ import annotations

import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from translate.choices import DIRECTIONS
from translate.errors import TranslateError
from translate.pipelines.registry import IMAGE, VIDEO, Pipeline
from translate.serve.models import VIDEO_BATCH, ModelCache, Progress
from translate.serve.requests import RequestError, check_output, parse_size
from translate.serve.runs import Run, config_text, find_runs, read_scalars, runs_table, sample_grids
from translate.serve.safety import (OutputFolder, UploadError, UploadLimits, check_array, check_image, check_size,
                                   check_video)

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
RESULT_SUFFIX = {VIDEO: ".mp4", IMAGE: ".png"}  # a pipeline's result is the medium of its upload


@dataclass
class ImageResults:
    pairs: List[Tuple[Path, Path]] = field(default_factory=list)  # (input as sent to the model, output)
    downloads: List[Path] = field(default_factory=list)  # every output, then a zip of them all
    skipped: List[str] = field(default_factory=list)  # "name: why" for each upload not translated
    status: str = ""
    seconds: float = 0.0


@dataclass
class Plot:
    """One plot of the runs page: a title, long-format rows (step, value, series) and whether each
    series has enough points to be drawn as lines (else as points)."""

    key: str
    title: str
    rows: List[Dict[str, Any]]

    @property
    def lines(self) -> bool:
        counts: Dict[str, int] = {}
        for row in self.rows:
            counts[row["series"]] = counts.get(row["series"], 0) + 1
        return bool(counts) and min(counts.values()) > 1


_DIRECTION_SUFFIX = re.compile(rf"_({'|'.join(DIRECTIONS)})$")


def _metric_family(series: str) -> str:
    """``fid_AtoB`` and ``fid_BtoA`` share a plot (same scale); ``psnr`` and ``ssim`` do not."""
    return _DIRECTION_SUFFIX.sub("", series)


def _fail(exc: BaseException) -> str:
    if isinstance(exc, TranslateError):
        return f"Error: {exc}"
    traceback.print_exc(file=sys.stderr)  # a bug: the operator gets the traceback, the page one line
    return f"Error: internal error ({type(exc).__name__}); the server is still running, see its log"


def _skipped_lines(skipped: Sequence[str]) -> str:
    """The bad uploads as a Markdown list under the status line, one reason each."""
    if not skipped:
        return ""
    return f"\n\nSkipped {len(skipped)} file(s):\n" + "\n".join(f"- {line}" for line in skipped)


class Handlers:
    def __init__(self, cache: ModelCache, outputs: OutputFolder, limits: UploadLimits, run_roots: Sequence[Path]):
        self.cache, self.outputs, self.limits, self.run_roots = cache, outputs, limits, list(run_roots)

    # --- try a model --------------------------------------------------------------------------

    def feature_hint(self, name: Optional[str]) -> Optional[str]:
        """What the feature-clusters box says for ``name``: its clusters per label, or None when the
        model has none (the box is hidden)."""
        try:
            clusters = self.cache.get(name).feature_clusters() if name else None
        except TranslateError:
            return None
        if clusters is None:
            return None
        return (f"{clusters.describe()}. Type LABEL=CLUSTER pairs (e.g. 26=3,24=1; labels not named take cluster 0, "
                f"the commonest) or random.")

    def model_info(self, name: Optional[str]) -> Tuple[Dict[str, Any], List[Tuple[str, str]]]:
        """The model's metadata for the page and the directions it can run, as (label, value)."""
        if not name:
            return {}, []
        try:
            model = self.cache.get(name)
        except TranslateError as exc:
            return {"error": str(exc)}, []
        return model.describe(), model.direction_choices()

    def translate_images(self, name: str, files: Optional[Sequence[str]], webcam: Any,
                         direction: Optional[str], precision: str, size: Any, features: str = "") -> ImageResults:
        """Every upload translated on its own, as ``translate apply`` goes past bad files: a corrupt
        file (or one too large for the size asked) is listed with its reason, the others come back.
        A bad request parameter or too many files refuses the whole request. Label-map models read
        the uploads as label maps, painted with the feature clusters ``features`` names."""
        result = ImageResults()
        started = time.perf_counter()
        try:
            size = parse_size(size, self.limits)
            served = self.cache.check_request(name, direction, precision)
            if (features or "").strip() and served.feature_clusters() is None:
                raise RequestError(f"feature clusters: {name} was not trained with pix2pixHD's feature encoder")
            files = list(files or [])
            if served.reads_labels and webcam is not None:
                raise UploadError(f"{name} reads label maps (class-id PNGs), not webcam pictures")
            if not files and webcam is None:
                raise UploadError("no image: upload one or more images (or take a webcam picture) first")
            count = len(files) + (webcam is not None)
            if count > self.limits.max_files:
                raise UploadError(f"{count} images: at most {self.limits.max_files} per run")
            sources = [(Path(f).stem, Path(f)) for f in files] + ([("webcam", webcam)] if webcam is not None else [])
            for stem, source in sources:  # one at a time: one decoded image in memory, not all of them
                try:
                    one = self._one_label_map if served.reads_labels else self._one_image
                    result.pairs.append(one(name, stem, source, direction, precision, size, features))
                except (UploadError, RequestError) as exc:
                    result.skipped.append(str(exc))
            result.seconds = time.perf_counter() - started
            if not result.pairs:
                raise UploadError("no image was translated" if len(result.skipped) != 1 else result.skipped.pop())
            result.downloads = [t for _, t in result.pairs]
            if len(result.downloads) > 1:
                result.downloads.append(self.outputs.zip(result.downloads, "translated"))
            h, w = _shape(result.pairs[0][1])
            result.status = (f"Done: {len(result.pairs)} image(s) translated with {name} in {result.seconds:.2f} s "
                             f"(first: {w}x{h})")
        except Exception as exc:  # noqa: BLE001  (one line on the page; see _fail)
            result.pairs, result.downloads, result.status = [], [], _fail(exc)
        result.status += _skipped_lines(result.skipped)
        return result

    def _one_label_map(self, name: str, stem: str, source: Any, direction: Optional[str], precision: str,
                       size: Optional[int], features: str) -> Tuple[Path, Path]:
        """A label-map upload: read as apply reads it (ids, never colours; the pixel limit first),
        shown in the label colours beside the picture it became."""
        from translate.data import ImageReadError, write_image
        from translate.data.labels import colorize, read_label_map
        from translate.pixels import from_unit

        path = Path(source)
        check_size(path, self.limits)
        try:
            output = self.cache.translate_label_map(name, path, direction, precision, size, features,
                                                    self.limits.max_pixels)
            ids = read_label_map(path, self.limits.max_pixels)
        except ImageReadError as exc:  # its reason is one line; the name, not the server's temp path
            raise UploadError(f"{stem}: {exc.reason}") from None
        shown = from_unit(colorize(torch_ids(ids), self.cache.get(name).num_classes or int(ids.max()) + 1))[0].permute(1, 2, 0).numpy()
        if size:
            shown = resize_nearest(shown, output.shape[:2])
        source_path = write_image(self.outputs.new(".png", f"{stem}_labels"), shown)
        target = write_image(self.outputs.new(".png", f"{stem}_translated"), output)
        return source_path, target

    def _one_image(self, name: str, stem: str, source: Any, direction: Optional[str], precision: str,
                   size: Optional[int], features: str = "") -> Tuple[Path, Path]:
        from translate.data import resize_long_side, write_image

        image = check_array(source, self.limits) if isinstance(source, np.ndarray) else \
            check_image(Path(source), self.limits)
        if size:
            shape = check_output(*image.shape[:2], size, self.limits, stem)
            try:
                self.cache.check_fits(name, direction, shape)
            except RequestError as exc:  # in a batch, say which image it was
                raise RequestError(f"{stem}: {exc}") from None
        output = self.cache.translate_image(name, image, direction, precision, size)
        if size:  # show the input as the model saw it
            image = resize_long_side(image, size)
        source_path = write_image(self.outputs.new(".png", f"{stem}_input"), image)
        target = write_image(self.outputs.new(".png", f"{stem}_translated"), output)
        return source_path, target

    def translate_video(self, name: str, file: Optional[str], direction: Optional[str], precision: str, size: Any,
                        progress: Progress = lambda f, m: None) -> Tuple[Optional[Path], str]:
        try:
            size = parse_size(size, self.limits)
            self.cache.check_request(name, direction, precision)
            if not file:
                raise UploadError("no video: upload one first")
            info = check_video(Path(file), self.limits)
            if size:
                shape = check_output(info.height, info.width, size, self.limits, Path(file).name)
                self.cache.check_fits(name, direction, shape, batch=VIDEO_BATCH)
            destination = self.outputs.new(".mp4", f"{Path(file).stem}_translated")
            started = time.perf_counter()
            result = self.cache.translate_video(name, Path(file), destination, direction, precision, size,
                                                progress, info.expected_frames, self.limits.max_video_frames)
            seconds = time.perf_counter() - started
            audio = "audio kept" if info.audio else "no audio track"
            note = f"; stopped early: {result.problem}" if result.problem else ""
            return destination, (f"Done: {result.frames_out} frames translated with {name} in {seconds:.1f} s "
                                 f"({result.encoder}, {audio}){note}")
        except Exception as exc:  # noqa: BLE001
            return None, _fail(exc)

    # --- pipelines (one tab each) -----------------------------------------------------------------

    def pipelines(self) -> List[Pipeline]:
        return list(self.cache.pipelines.values())

    def run_pipeline(self, name: str, file: Optional[str], precision: str,
                     pipeline: Optional[str] = None, choice: str = "") -> Tuple[Optional[Path], str]:
        """``pipeline`` (default: the one that runs the model's kind) on one upload with the model
        ``name`` and the answer ``choice`` to its Pick (who dances, which face): the upload is
        checked first, then that the pipeline runs this kind of model."""
        try:
            if not file:
                raise UploadError("no video: upload one first")
            model = self.cache.get(name)
            chosen = self.cache.pipeline(pipeline) if pipeline else self.cache.home(model)
            media = self._check_upload(Path(file), chosen)
            if chosen is None or chosen.model != model.kind:
                raise self.cache.refuse_kind(model)
            destination = self.outputs.new(RESULT_SUFFIX[media], f"{Path(file).stem}_{chosen.name}")
            started = time.perf_counter()
            note = self.cache.run_pipeline(chosen, name, Path(file), destination, precision, choice or "")
            return destination, f"Done: {note} in {time.perf_counter() - started:.1f} s"
        except Exception as exc:  # noqa: BLE001
            return None, _fail(exc)

    def _check_upload(self, path: Path, pipeline: Optional[Pipeline]) -> str:
        """The upload's medium (VIDEO or IMAGE) once it passes its checks; a medium the pipeline
        does not take is refused before the file is read."""
        media = VIDEO if path.suffix.lower() in VIDEO_SUFFIXES else IMAGE
        if pipeline is not None and not pipeline.takes(media):
            raise UploadError(f"{pipeline.name} takes {pipeline.wanted()}")
        if media == VIDEO:
            check_video(path, self.limits)
        else:
            check_image(path, self.limits)
        return media

    # --- runs -----------------------------------------------------------------------------------

    def runs(self) -> List[Run]:
        return find_runs(self.run_roots)

    def table(self) -> Tuple[List[str], List[List[Any]]]:
        return runs_table(self.runs())

    def run(self, name: Optional[str]) -> Optional[Run]:
        return next((r for r in self.runs() if r.name == name), None)

    def curves(self, name: Optional[str]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """Long-format rows (step, value, series) for the loss plot and for the metrics plot."""
        run = self.run(name)
        losses, metrics = [], []
        for tag, points in (read_scalars(run.path) if run else {}).items():
            target = metrics if tag.startswith("eval") else losses if tag.startswith("loss/") else None
            if target is not None:
                target += [{"step": s, "value": v, "series": tag.split("/", 1)[1]} for s, v in points]
        return losses, metrics

    def plots(self, name: Optional[str]) -> List[Plot]:
        """The losses in one plot, then one plot per metric (its directions as series): metrics
        on different scales never share an axis."""
        losses, metrics = self.curves(name)
        plots = [Plot("losses", "losses", losses)] if losses else []
        families: Dict[str, List[Dict[str, Any]]] = {}
        for row in metrics:
            families.setdefault(_metric_family(row["series"]), []).append(row)
        plots += [Plot(f"metric-{re.sub(r'[^A-Za-z0-9_-]', '_', family)}", family, rows)
                  for family, rows in families.items()]
        return plots

    def default_run(self) -> Optional[str]:
        """The run the page opens on: the first with something to plot, not an empty one."""
        runs = self.runs()
        return next((r.name for r in runs if read_scalars(r.path)), runs[0].name if runs else None)

    def samples(self, name: Optional[str]) -> List[Tuple[str, List[Tuple[str, Path]]]]:
        run = self.run(name)
        grids = sample_grids(run.path) if run else []
        return [(f"step {step}" + (f" (epoch {epoch})" if epoch is not None else ""), cells)
                for step, epoch, cells in grids]

    def config(self, name: Optional[str]) -> str:
        run = self.run(name)
        return config_text(run.path) if run else ""


def torch_ids(ids: np.ndarray):
    import torch

    return torch.from_numpy(ids.astype(np.int64))


def resize_nearest(image: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _shape(path: Path) -> Tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size[1], image.size[0]
