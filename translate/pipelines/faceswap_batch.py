"""Face swap over a file or a folder of videos and photos, mirroring the input tree.

The batch rules are ``translate apply``'s (``translate.apply.batch``): outputs are
planned by ``plan_media``, written atomically, existing ones are skipped (a re-run
resumes), and every file is attempted, failures listed at the end. Videos stream
through ``translate_video`` with a ``FaceSwapper`` as the frame translator, so audio
is kept and frames are batched.

A file where no face is found at all is a failure whose message says so, and its
output is removed: nothing is written, so a later run with other settings (a lower
``--min-score``) is not skipped as done.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Sequence, Tuple

import av
import numpy as np
from tqdm import tqdm

from translate.apply.batch import BatchReport, split_work
from translate.apply.video import VideoOptions, translate_video
from translate.data import ImageReadError, read_image, resize_long_side, write_image
from translate.pipelines.faceswap import FaceSwapper
from translate.video.io import VideoError

Message = Callable[[str], None]
Pair = Tuple[Path, Path]


def _stderr(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


@dataclass
class SwapReport(BatchReport):
    faces: Dict[Path, Tuple[int, int]] = field(default_factory=dict)  # source -> (frames swapped, frames)
    stage_seconds: Dict[str, float] = field(default_factory=dict)


def _merge_stages(report: SwapReport, seconds: Dict[str, float]) -> None:
    for key, value in seconds.items():
        report.stage_seconds[key] = report.stage_seconds.get(key, 0.0) + value


def swap_batch(swapper: FaceSwapper, pairs: Sequence[Pair], video: VideoOptions, overwrite: bool = False,
               progress: bool = True, on_message: Message = _stderr) -> SwapReport:
    report = SwapReport()
    images, videos = split_work(pairs, overwrite, report.skipped, on_message)
    for src, dst in tqdm(images, desc="faceswap", unit="img", disable=not progress or not images,
                         dynamic_ncols=True):
        _image(swapper, src, dst, video, report)
    for src, dst in videos:
        _video(swapper, src, dst, video, report, on_message, progress)
    return report


def _no_face(src: Path, frames: int) -> str:
    what = "the image" if frames == 1 else f"any of its {frames} frames"
    return f"{src}: no face found in {what}; nothing written (try a lower --min-score or --min-face 0)"


def _image(swapper: FaceSwapper, src: Path, dst: Path, options: VideoOptions, report: SwapReport) -> None:
    swapper.reset()
    try:
        image = read_image(src, channels=3)
        if options.size:
            image = resize_long_side(image, options.size)
        out = swapper([image])[0]
        _merge_stages(report, swapper.stats.seconds)
        report.faces[src] = (swapper.stats.swapped, 1)
        if not swapper.stats.swapped:
            report.failed.append((src, _no_face(src, 1)))
            return
        write_image(dst, np.concatenate([image, out], axis=1) if options.side_by_side else out)
        report.written.append(dst)
    except (ImageReadError, OSError, ValueError) as exc:
        report.failed.append((src, str(exc) if str(src) in str(exc) else f"{src}: {exc}"))


def _video(swapper: FaceSwapper, src: Path, dst: Path, options: VideoOptions, report: SwapReport,
           on_message: Message, progress: bool) -> None:
    swapper.reset()
    try:
        result = translate_video(src, dst, swapper, options, on_message, progress)
    except VideoError as exc:
        report.failed.append((src, str(exc)))
        return
    except (av.error.FFmpegError, OSError, ValueError, RuntimeError) as exc:
        report.failed.append((src, f"{src}: {' '.join(str(exc).split())}"))
        return
    stats = swapper.stats
    _merge_stages(report, stats.seconds)
    _merge_stages(report, {"decode": result.stage_seconds.get("decode", 0.0),
                           "encode": result.stage_seconds.get("encode", 0.0)})
    report.faces[src] = (stats.swapped, stats.frames)
    if stats.swapped == 0:
        dst.unlink(missing_ok=True)
        report.failed.append((src, _no_face(src, stats.frames)))
        return
    report.videos.append(result)
    report.written.append(dst)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in stats.seconds.items())
    on_message(f"{dst}: {result.frames_out} frame(s), face swapped in {stats.swapped}, no face in "
               f"{stats.no_face}; {result.fps:.1f} frames/s"
               f"{', audio ' + result.info.audio.codec if result.info.audio else ', no audio'} ({stages})")
    if result.problem:
        report.failed.append((src, f"{src}: {result.problem} (the frames before were swapped and written to {dst})"))
