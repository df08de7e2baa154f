"""What each button on the page does, as plain Python (no Gradio here, so it is tested directly).

Each handler checks its uploads (``safety``), runs the model (``models``), writes results into
the server's ``OutputFolder`` and returns paths and a one-line status. A user's mistake (a
corrupt file, an oversized upload, an unknown model) comes back as that status line; anything
else is logged with its traceback and reported as an internal error, and the server goes on.
"""
from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from translate.errors import TranslateError
from translate.serve.models import KIND_DANCE, ModelCache, Progress
from translate.serve.runs import Run, config_text, find_runs, read_scalars, runs_table, sample_grids
from translate.serve.safety import OutputFolder, UploadError, UploadLimits, check_array, check_image, check_video

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


@dataclass
class ImageResults:
    pairs: List[Tuple[Path, Path]] = field(default_factory=list)  # (input as sent to the model, output)
    downloads: List[Path] = field(default_factory=list)  # every output, then a zip of them all
    status: str = ""
    seconds: float = 0.0


def _fail(exc: BaseException) -> str:
    if isinstance(exc, TranslateError):
        return f"Error: {exc}"
    traceback.print_exc(file=sys.stderr)  # a bug: the operator gets the traceback, the page one line
    return f"Error: internal error ({type(exc).__name__}); the server is still running, see its log"


def _size(size: Any) -> Optional[int]:
    try:
        size = int(size or 0)
    except (TypeError, ValueError):
        raise UploadError(f"size must be a whole number of pixels, got {size!r}") from None
    if size and not 16 <= size <= 8192:
        raise UploadError(f"size must be 0 (keep) or between 16 and 8192 pixels, got {size}")
    return size or None


class Handlers:
    def __init__(self, cache: ModelCache, outputs: OutputFolder, limits: UploadLimits, run_roots: Sequence[Path]):
        self.cache, self.outputs, self.limits, self.run_roots = cache, outputs, limits, list(run_roots)

    # --- try a model --------------------------------------------------------------------------

    def model_info(self, name: Optional[str]) -> Tuple[Dict[str, Any], List[str]]:
        """The model's metadata for the page and the directions it can run."""
        if not name:
            return {}, []
        try:
            model = self.cache.get(name)
        except TranslateError as exc:
            return {"error": str(exc)}, []
        return model.describe(), model.directions

    def translate_images(self, name: str, files: Optional[Sequence[str]], webcam: Optional[np.ndarray],
                         direction: Optional[str], precision: str, size: Any) -> ImageResults:
        from translate.data import write_image

        result = ImageResults()
        started = time.perf_counter()
        try:
            size = _size(size)
            files = list(files or [])
            if not files and webcam is None:
                raise UploadError("no image: upload one or more images (or take a webcam picture) first")
            if len(files) > self.limits.max_files:
                raise UploadError(f"{len(files)} files: at most {self.limits.max_files} images per run")
            inputs = [(Path(f).stem, check_image(Path(f), self.limits)) for f in files]  # all checked first
            if webcam is not None:
                inputs.append(("webcam", check_array(webcam, self.limits)))
            for stem, image in inputs:
                output = self.cache.translate_image(name, image, direction, precision, size)
                if output.shape[:2] != image.shape[:2]:  # a --size run: show the input as the model saw it
                    from translate.data import resize_long_side

                    image = resize_long_side(image, size) if size else image
                source = write_image(self.outputs.new(".png", f"{stem}_input"), image)
                target = write_image(self.outputs.new(".png", f"{stem}_translated"), output)
                result.pairs.append((source, target))
            result.downloads = [t for _, t in result.pairs]
            if len(result.downloads) > 1:
                result.downloads.append(self.outputs.zip(result.downloads, "translated"))
            result.seconds = time.perf_counter() - started
            h, w = _shape(result.pairs[0][1])
            result.status = (f"Done: {len(result.pairs)} image(s) translated with {name} in {result.seconds:.2f} s "
                             f"(first: {w}x{h})")
        except Exception as exc:  # noqa: BLE001  (one line on the page; see _fail)
            result.pairs, result.downloads, result.status = [], [], _fail(exc)
        return result

    def translate_video(self, name: str, file: Optional[str], direction: Optional[str], precision: str, size: Any,
                        progress: Progress = lambda f, m: None) -> Tuple[Optional[Path], str]:
        try:
            size = _size(size)
            if not file:
                raise UploadError("no video: upload one first")
            info = check_video(Path(file), self.limits)
            destination = self.outputs.new(".mp4", f"{Path(file).stem}_translated")
            started = time.perf_counter()
            result = self.cache.translate_video(name, Path(file), destination, direction, precision, size,
                                                progress, info.expected_frames)
            seconds = time.perf_counter() - started
            audio = "audio kept" if info.audio else "no audio track"
            note = f"; stopped early: {result.problem}" if result.problem else ""
            return destination, (f"Done: {result.frames_out} frames translated with {name} in {seconds:.1f} s "
                                 f"({result.encoder}, {audio}){note}")
        except Exception as exc:  # noqa: BLE001
            return None, _fail(exc)

    # --- face swap and dance --------------------------------------------------------------------

    def run_pipeline(self, name: str, file: Optional[str], precision: str) -> Tuple[Optional[Path], str]:
        try:
            if not file:
                raise UploadError("no video: upload one first")
            model = self.cache.get(name)
            is_video = Path(file).suffix.lower() in VIDEO_SUFFIXES
            if is_video:
                check_video(Path(file), self.limits)
            elif model.kind == KIND_DANCE:
                raise UploadError("dance takes a video of someone dancing")
            else:
                check_image(Path(file), self.limits)
            destination = self.outputs.new(".mp4" if is_video else ".png", f"{Path(file).stem}_{model.kind}")
            started = time.perf_counter()
            if model.kind == KIND_DANCE:
                note = self.cache.dance_video(name, Path(file), destination, precision)
            else:
                note = self.cache.faceswap_video(name, Path(file), destination, None, precision)
            return destination, f"Done: {note} in {time.perf_counter() - started:.1f} s"
        except Exception as exc:  # noqa: BLE001
            return None, _fail(exc)

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

    def samples(self, name: Optional[str]) -> List[Tuple[str, List[Tuple[str, Path]]]]:
        run = self.run(name)
        grids = sample_grids(run.path) if run else []
        return [(f"step {step}" + (f" (epoch {epoch})" if epoch is not None else ""), cells)
                for step, epoch, cells in grids]

    def config(self, name: Optional[str]) -> str:
        run = self.run(name)
        return config_text(run.path) if run else ""


def _shape(path: Path) -> Tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size[1], image.size[0]
