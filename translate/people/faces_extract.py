"""``translate faces extract``: aligned face crops, their masks and alignments from videos and photos.

Output layout (``OUT_DIR`` is ready to be ``trainA/`` or ``trainB/`` of a face dataset)::

    OUT_DIR/NAME.png             aligned crop (size x size)
    OUT_DIR/masks/NAME.png       soft face mask, 8-bit, same size (read by the faceswap translator)
    OUT_DIR/alignment/NAME.json  source, frame, time, image->crop matrix, landmarks, box, score

``NAME`` is the source's path relative to the input (``/`` -> ``_``) plus ``_f{frame:06d}`` for
video frames. Why one JSON per crop: a user can inspect, fix or delete one bad crop (and its
mask and JSON) without touching the others. A crop whose three files exist is not redone, so
an interrupted extract is resumed by running it again.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import numpy as np
from tqdm import tqdm

from translate.data.io import ImageReadError, is_image_file, read_image, write_image
from translate.errors import TranslateError
from translate.fileio import atomic_write_text
from translate.people.faces_align import AlignSpec, align_face, transform_points
from translate.people.faces_detect import FaceDetector
from translate.people.faces_mask import build_masker, mask_to_uint8
from translate.people.faces_track import FaceTracker, TrackOptions
from translate.video.io import VideoError, VideoReader, is_video_file

Message = Callable[[str], None]


class ExtractError(TranslateError, ValueError):
    """Bad input to faces extract, one line for the user."""


@dataclass
class ExtractOptions:
    align: AlignSpec = field(default_factory=AlignSpec)
    track: TrackOptions = field(default_factory=lambda: TrackOptions(smoothing=0.0))
    every: int = 1  # every Nth video frame
    overwrite: bool = False
    mask: str = "mesh"  # mesh | hull (faces_mask.MASKERS)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ExtractError(f"--every must be >= 1, got {self.every}")


@dataclass
class SourceCount:
    source: Path
    sampled: int = 0
    written: int = 0
    skipped: int = 0
    no_face: List[int] = field(default_factory=list)  # frame indices (0 for a photo) without a face


@dataclass
class ExtractReport:
    sources: List[SourceCount] = field(default_factory=list)
    failed: List[Tuple[Path, str]] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(s.written for s in self.sources)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.sources)

    @property
    def without_face(self) -> int:
        return sum(len(s.no_face) for s in self.sources)


def plan_sources(input_path: Path, out_dir: Path) -> List[Tuple[Path, str]]:
    """(source file, output name stem) for a video, a photo or a folder of both (recursive)."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise ExtractError(f"{input_path}: no such file or folder")
    if input_path.is_file():
        if not (is_video_file(input_path) or is_image_file(input_path)):
            raise ExtractError(f"{input_path}: not an image or a video file")
        return [(input_path, input_path.stem)]
    if out_dir.resolve() == input_path.resolve() or input_path.resolve() in out_dir.resolve().parents:
        raise ExtractError(f"{out_dir}: output folder is inside the input folder {input_path}; choose another")
    files = sorted(p for p in input_path.rglob("*") if p.is_file() and not p.name.startswith(".")
                   and (is_video_file(p) or is_image_file(p)))
    if not files:
        raise ExtractError(f"{input_path}: no images or videos found")
    return [(p, "_".join(p.relative_to(input_path).with_suffix("").parts)) for p in files]


def _frames(source: Path, every: int) -> Iterator[Tuple[int, float, np.ndarray]]:
    if is_image_file(source):
        yield 0, 0.0, read_image(source, channels=3)
        return
    for frame in VideoReader(source):
        if frame.index % every == 0:
            yield frame.index, frame.time, frame.image


def _paths(out_dir: Path, name: str) -> Tuple[Path, Path, Path]:
    return out_dir / f"{name}.png", out_dir / "masks" / f"{name}.png", out_dir / "alignment" / f"{name}.json"


def extract_faces(input_path: Path, out_dir: Path, detector: FaceDetector, options: ExtractOptions,
                  progress: bool = True, on_message: Message = lambda m: tqdm.write(m, file=sys.stderr)) -> ExtractReport:
    out_dir = Path(out_dir)
    plan = plan_sources(Path(input_path), out_dir)
    report = ExtractReport()
    masker = build_masker(options.mask)
    bar = tqdm(desc="faces", unit="frame", disable=not progress, dynamic_ncols=True)
    try:
        for source, stem in plan:
            count = SourceCount(source)
            tracker = FaceTracker(options.track)
            try:
                for index, seconds, image in _frames(source, options.every):
                    count.sampled += 1
                    bar.update(1)
                    name = stem if is_image_file(source) else f"{stem}_f{index:06d}"
                    paths = _paths(out_dir, name)
                    if not options.overwrite and all(p.exists() for p in paths):
                        count.skipped += 1
                        continue
                    face = tracker.update(detector(image))
                    if face is None:
                        count.no_face.append(index)
                        continue
                    _write_crop(image, face, options.align, masker, paths, source, index, seconds)
                    count.written += 1
            except (ImageReadError, VideoError) as exc:
                report.failed.append((source, str(exc)))
            except (OSError, ValueError) as exc:
                report.failed.append((source, f"{source}: {' '.join(str(exc).split())}"))
            report.sources.append(count)
            if count.no_face:
                shown = ", ".join(str(i) for i in count.no_face[:10]) + (" ..." if len(count.no_face) > 10 else "")
                where = "no face found" if is_image_file(source) else f"no face in frame(s) {shown}"
                on_message(f"{source}: {count.written + count.skipped} of {count.sampled} sampled frame(s) have a "
                           f"face; {where}")
    finally:
        bar.close()
        masker.close()
    return report


def _write_crop(image: np.ndarray, face, spec: AlignSpec, masker, paths, source: Path, index: int,
                seconds: float) -> None:
    crop_path, mask_path, json_path = paths
    crop, matrix = align_face(image, face.landmarks, spec)
    in_crop = transform_points(matrix, face.landmarks)
    write_image(crop_path, crop)
    write_image(mask_path, mask_to_uint8(masker(crop, in_crop)))
    record = {
        "source": str(source), "frame": index, "time": round(seconds, 6), "crop": crop_path.name,
        "size": spec.size, "margin": spec.margin,
        "matrix": np.round(matrix, 6).tolist(),  # image -> crop, 2x3
        "landmarks": np.round(face.landmarks, 3).tolist(),  # image pixels, faces_detect.LANDMARKS order
        "landmarks_crop": np.round(in_crop, 3).tolist(),
        "box": np.round(face.box, 3).tolist(), "score": round(face.score, 4),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json_path, json.dumps(record, indent=1) + "\n")
