"""Apply a generator to a file or a folder of images and videos, mirroring the input tree.

Why re-runs skip existing outputs: every output (image or video) is written to a
temporary file and renamed into place only when complete (``translate.fileio``), so
an output that exists is a finished one. A long batch killed half way is resumed by
running the same command again; ``overwrite`` redoes everything.

Every file is attempted: a file that fails is listed in ``BatchReport.failed`` with a
one-line reason, and the caller exits non-zero. A video that decodes only partly is
written as far as it decoded to ``<name>.partial<ext>``, never to its own output name (which
would read as finished and be skipped by a re-run), and counted as a failure (its reason says
where decoding stopped).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Protocol, Sequence, Tuple

import av
import numpy as np
from tqdm import tqdm

from translate.apply.frames import FrameFn
from translate.apply.images import ApplyError, ImageModel, apply_to_images
from translate.data import ImageReadError, read_image, resize_long_side, write_image
from translate.data.io import IMAGE_EXTENSIONS, MAX_PIXELS, is_image_file
from translate.apply.limits import MAX_BATCH, MAX_SIZE, check_range
from translate.errors import InvalidSettingError
from translate.fileio import remove_stale_temporaries, writes_into
from translate.video.io import VIDEO_EXTENSIONS, VideoError, VideoInfo, even_size, is_video_file, probe
from translate.apply.video import VideoOptions, VideoResult, translate_video

Message = Callable[[str], None]
Pair = Tuple[Path, Path]


def _stderr(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


@dataclass
class BatchOptions:
    batch_size: int = 4
    size: Optional[int] = None
    side_by_side: bool = False
    overwrite: bool = False
    max_pixels: Optional[int] = MAX_PIXELS  # larger images are refused from their header
    video: VideoOptions = field(default_factory=VideoOptions)

    def __post_init__(self) -> None:
        # Refused here, where every caller (CLI, API, pipelines, serve) passes: a negative limit
        # would refuse every image, a huge batch would repeat images to fill it.
        if self.max_pixels is not None and self.max_pixels < 1:
            raise InvalidSettingError(f"--max-pixels must be at least 1 (0 for no limit), got {self.max_pixels}")
        check_range("--batch-size", self.batch_size, 1, MAX_BATCH, allow_none=False)
        check_range("--size", self.size, 2, MAX_SIZE)


@dataclass
class BatchReport:
    written: List[Path] = field(default_factory=list)
    skipped: List[Path] = field(default_factory=list)
    failed: List[Tuple[Path, str]] = field(default_factory=list)
    videos: List[VideoResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def is_media_file(path: Path) -> bool:
    return is_image_file(path) or is_video_file(path)


def plan_media(input_path: Path, output_path: Path, problems: Optional[List[Tuple[Path, str]]] = None) -> List[Pair]:
    """(source, destination) pairs for images and videos; a folder's tree is mirrored, never written into.

    Everything that can be refused without the model is refused here, before it loads: a single
    input that is neither an image nor a video, an output whose extension cannot be written.
    Sub-folders that cannot be listed (no permission) are added to ``problems`` as
    (folder, one-line reason), so the caller reports them and exits non-zero.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.exists():
        raise ApplyError(f"{input_path}: no such file or folder")
    if input_path.is_file():
        if not is_media_file(input_path):
            raise ApplyError(f"{input_path}: not an image or video this tool reads (expected "
                             f"{', '.join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))})")
        if output_path.suffix == "" or output_path.is_dir():
            return _never_over_inputs([(input_path, output_path / input_path.name)], input_path)
        _never_over_inputs([(input_path, output_path)], input_path)
        if is_video_file(input_path) and not is_video_file(output_path):
            raise ApplyError(f"{output_path}: a video needs a video output ({', '.join(sorted(VIDEO_EXTENSIONS))}) "
                             f"or a folder")
        if is_image_file(input_path) and is_video_file(output_path):
            raise ApplyError(f"{output_path}: an image cannot be written as a video; use an image suffix")
        if is_image_file(input_path) and not is_image_file(output_path):
            raise ApplyError(f"{output_path}: cannot write images with the suffix {output_path.suffix!r} (use one of "
                             f"{', '.join(sorted(IMAGE_EXTENSIONS))}, or a folder)")
        return [(input_path, output_path)]
    if writes_into(output_path, input_path):
        raise ApplyError(f"{output_path}: output folder is inside the input folder {input_path}; choose another")
    unlisted: List[Tuple[Path, str]] = []

    def cannot_list(exc: OSError) -> None:
        unlisted.append((Path(exc.filename), f"{exc.filename}: cannot list this folder ({exc.strerror})"))

    found = []
    for folder, _, names in os.walk(input_path, onerror=cannot_list):
        # Hidden files are skipped: they include temporaries of an interrupted run.
        found += [Path(folder) / n for n in names if not n.startswith(".")]
    media = sorted(p for p in found if is_media_file(p))
    sources = [p for p in media if p.is_file()]
    # A media name that is not a readable file (a dangling or looping link) is the user's file
    # gone missing: listed, so the run exits non-zero, never passed over in silence.
    unlisted += [(p, f"{p}: {_not_a_file(p)}") for p in media if not p.is_file()]
    if problems is not None:
        problems += unlisted
    if not sources:
        detail = f"; {unlisted[0][1]}" if unlisted else ""
        raise ApplyError(f"{input_path}: no images or videos found (looked for "
                         f"{', '.join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))}){detail}")
    return _never_over_inputs([(src, output_path / src.relative_to(input_path)) for src in sources], input_path)


@dataclass
class Plan:
    """Every (source, destination) pair of a batch, planned before any model loads, and the
    entries that could not be planned (unlistable folders, broken links) as (path, reason)."""

    pairs: List[Pair]
    problems: List[Tuple[Path, str]] = field(default_factory=list)


def plan_batch(input_path: Path, output_path: Path) -> Plan:
    problems: List[Tuple[Path, str]] = []
    pairs = plan_media(Path(input_path), Path(output_path), problems)
    return Plan(pairs, problems)


def _not_a_file(path: Path) -> str:
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "a symbolic link that loops"
        except OSError:
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
    return "not a regular file"


def _never_over_inputs(pairs: List[Pair], input_path: Path) -> List[Pair]:
    """``pairs`` unchanged when no output replaces an input or lands inside the input folder (an
    output folder that holds the input folder can: ``--input x/in --output x`` maps x/in/in/a.png
    onto x/in/a.png); otherwise the whole plan is refused before anything is written."""
    for src, dst in pairs:
        if writes_into(dst, input_path):
            where = f"be written inside the input folder {input_path}" if input_path.is_dir() else "overwrite the input"
            raise ApplyError(f"{dst}: the output of {src} would {where}; choose an output outside it")
    return pairs


def split_work(pairs: Sequence[Pair], overwrite: bool, skipped: List[Path],
               on_message: Message = _stderr) -> Tuple[List[Pair], List[Pair]]:
    """(images, videos) still to do; outputs that exist are appended to ``skipped`` unless
    ``overwrite``, so a re-run resumes an interrupted batch. Temporaries of a killed earlier run
    (kill -9 cannot clean up) are removed; those of a live process, such as a second apply
    writing into the same folder, are left alone."""
    for folder in sorted({dst.parent for _, dst in pairs}):
        remove_stale_temporaries(folder)
    todo = []
    for src, dst in pairs:
        if dst.exists() and not overwrite:
            skipped.append(dst)
        else:
            todo.append((src, dst))
    if skipped:
        on_message(f"skipping {len(skipped)} output(s) that already exist (--overwrite redoes them)")
    return [(s, d) for s, d in todo if is_image_file(s)], [(s, d) for s, d in todo if is_video_file(s)]


class BatchModel(ImageModel, Protocol):
    """What a batch needs of a model (``translate.apply.model.Model`` is one): the image side
    (``ImageModel``), what it reads, and frames through it for videos and side-by-side pictures."""

    input_kind: str

    def frames(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]: ...


def run_batch(model: BatchModel, pairs: Sequence[Pair], options: BatchOptions, on_message: Message = _stderr,
              progress: bool = True) -> BatchReport:
    """Translate every pair; images first (batched by size), then videos one by one, streamed."""
    report = BatchReport()
    images, videos = split_work(pairs, options.overwrite, report.skipped, on_message)
    rgb_model = model.input_kind == "rgb"
    if images:
        if options.side_by_side:
            _side_by_side_images(model, images, options, rgb_model, report, progress)
        else:
            images_report = apply_to_images(model, images, options.batch_size, options.size, progress,
                                            options.max_pixels)
            report.written += images_report.written
            report.failed += images_report.failed
    if videos:
        if not rgb_model:
            report.failed += [(s, f"{s}: this model reads {model.input_kind} inputs, not video frames")
                              for s, _ in videos]
        else:
            _videos(model.frames, videos, options.video, report, on_message, progress, options.max_pixels)
    return report


def _side_by_side_images(model: BatchModel, pairs: Sequence[Pair], options: BatchOptions, rgb_model: bool,
                         report: BatchReport, progress: bool) -> None:
    """Input | output images for review (one at a time: review sets are small)."""
    if not rgb_model:
        report.failed += [(s, f"{s}: --side-by-side needs a model that reads RGB images") for s, _ in pairs]
        return
    for src, dst in tqdm(pairs, desc="apply", unit="img", disable=not progress, dynamic_ncols=True):
        try:
            image = read_image(src, channels=3, max_pixels=options.max_pixels)
            if options.size:
                image = resize_long_side(image, options.size)
            write_image(dst, np.concatenate([image, model.frames([image])[0]], axis=1))
            report.written.append(dst)
        except (ImageReadError, OSError, ValueError, RuntimeError) as exc:
            report.failed.append((src, str(exc) if str(src) in str(exc) else f"{src}: {' '.join(str(exc).split())}"))


def translate_video_or_report(src: Path, dst: Path, translator, options: VideoOptions, report: BatchReport,
                              on_message: Message, progress: bool, overall=None,
                              info: Optional[VideoInfo] = None) -> Optional[VideoResult]:
    """``translate_video``, with a failure recorded in ``report`` as one line (None) instead of raised,
    so a batch goes on past a bad video."""
    try:
        return translate_video(src, dst, translator, options, on_message, progress, overall, info)
    except VideoError as exc:
        report.failed.append((src, str(exc)))
    except (av.error.FFmpegError, OSError, ValueError, RuntimeError) as exc:
        report.failed.append((src, f"{src}: {' '.join(str(exc).split())}"))
    return None


def _videos(translator: FrameFn, pairs: Sequence[Pair], options: VideoOptions, report: BatchReport,
            on_message: Message, progress: bool, max_pixels: Optional[int] = None) -> None:
    infos: List[Tuple[Path, Path, VideoInfo]] = []
    for src, dst in pairs:
        try:
            info = probe(src)
        except VideoError as exc:
            report.failed.append((src, str(exc)))
            continue
        width, height = even_size(info.width, info.height, options.size)  # what the model will see
        if max_pixels and width * height > max_pixels:
            report.failed.append((src, f"{src}: frames too large: {width}x{height} = {width * height:,} pixels, over "
                                       f"the limit of {max_pixels:,} (--max-pixels; or shrink them with --size)"))
            continue
        infos.append((src, dst, info))
    total = sum(info.expected_frames for _, _, info in infos)
    overall = None
    if len(infos) > 1:
        overall = tqdm(total=total or None, desc=f"{len(infos)} videos", unit="frame", disable=not progress,
                       dynamic_ncols=True, position=0)
    try:
        for src, dst, info in infos:
            result = translate_video_or_report(src, dst, translator, options, report, on_message, progress,
                                               overall, info)
            if result is None:
                continue
            report.videos.append(result)
            on_message(_describe(result))
            if result.problem:
                # Under its own name: an output at ``dst`` means finished, and a re-run skips it.
                partial = dst.with_name(f"{dst.stem}.partial{dst.suffix}")
                os.replace(dst, partial)
                report.failed.append((src, f"{src}: {result.problem} (the frames before were translated and "
                                           f"written to {partial}; a re-run tries the whole video again)"))
                continue
            report.written.append(dst)
    finally:
        if overall is not None:
            overall.close()


def _describe(result: VideoResult) -> str:
    info = result.info
    line = (f"{result.destination}: {result.frames_out} frame(s) {result.encoder}, {result.fps:.1f} frames/s"
            f"{', audio ' + info.audio.codec if info.audio else ', no audio'}")
    busy = ", ".join(f"{k} {v:.1f} s" for k, v in result.stage_seconds.items())
    if busy:
        line += f" (busy: {busy})"
    if result.flicker is not None:
        line += f"; {result.flicker.summary()}"
    return line
