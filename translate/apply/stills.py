"""Videos to folders of still frames and back (``translate frames extract|assemble``).

Extraction is how a training set is built from footage: every Nth frame, capped in
size, named ``<video stem>_<frame index>.png`` so a frame can be traced back to its
time in the clip. Assembly turns a folder of frames (from another tool, or edited by
hand) into a video at a given frame rate, optionally with another file's audio.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from translate.errors import InvalidSettingError
from translate.data import ImageReadError, list_images, read_image, resize_long_side, write_image
from translate.fileio import atomic_path, refuse_overwriting_input
from translate.video.encode import VideoWriter
from translate.video.io import VideoError, VideoReader, probe

Message = Callable[[str], None]


@dataclass
class StillsReport:
    written: int = 0
    failed: List[Tuple[Path, str]] = field(default_factory=list)
    problem: Optional[str] = None  # where decoding stopped early, for extract


def extract_frames(video: Path, folder: Path, every: int = 1, max_size: Optional[int] = None, fmt: str = "png",
                   limit: Optional[int] = None, progress: bool = True) -> StillsReport:
    """Write every ``every``-th frame of ``video`` into ``folder`` (long side at most ``max_size``)."""
    video, folder = Path(video), Path(folder)
    if every < 1:
        raise InvalidSettingError(f"--every must be >= 1, got {every}")
    if folder.exists() and not folder.is_dir():
        raise VideoError(folder, "exists and is not a folder")
    info = probe(video)
    reader = VideoReader(video, info=info)
    report = StillsReport()
    total = info.expected_frames // every if info.expected_frames else None
    with tqdm(total=total, desc=f"extract {video.name}", unit="frame", disable=not progress,
              dynamic_ncols=True) as bar:
        for frame in reader:
            if frame.index % every:
                continue
            image = frame.image
            if max_size and max(image.shape[:2]) > max_size:
                image = resize_long_side(image, max_size)
            write_image(folder / f"{video.stem}_{frame.index:06d}.{fmt}", image)
            report.written += 1
            bar.update(1)
            if limit and report.written >= limit:
                break
    report.problem = reader.problem
    return report


def _natural_key(path: Path):
    # frame_2 before frame_10, whatever the zero padding
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def assemble_frames(folder: Path, output: Path, fps: Fraction, audio_from: Optional[Path] = None,
                    codec: Optional[str] = None, crf: int = 18, on_message: Message = lambda m: None,
                    progress: bool = True) -> StillsReport:
    """Encode the images of ``folder`` (natural name order) into ``output`` at ``fps``.

    Frames that cannot be read, or whose size differs from the first frame's, are skipped and
    reported; the audio of ``audio_from`` (if given) is cut at the video's end.
    """
    folder, output = Path(folder), Path(output)
    refuse_overwriting_input(output, [folder] + ([audio_from] if audio_from is not None else []))
    frames = sorted(list_images(folder), key=_natural_key)
    if not frames:
        raise VideoError(folder, "no image frames found")
    if audio_from is not None:
        probe(audio_from)  # a bad audio source is a one-line error before any work
    report = StillsReport()
    size = None
    with atomic_path(output) as tmp:
        writer = VideoWriter(tmp, 1 / Fraction(fps), Fraction(fps), audio_from, codec, crf, on_message)
        try:
            for path in tqdm(frames, desc=f"assemble {output.name}", unit="frame", disable=not progress,
                             dynamic_ncols=True):
                try:
                    image = read_image(path, channels=3)
                except ImageReadError as exc:
                    report.failed.append((path, str(exc)))
                    continue
                if size is None:
                    size = image.shape
                elif image.shape != size:
                    report.failed.append((path, f"{path}: {image.shape[1]}x{image.shape[0]} differs from the first "
                                                f"frame's {size[1]}x{size[0]}; skipped"))
                    continue
                writer.write(np.ascontiguousarray(image), report.written)
                report.written += 1
            if not report.written:
                raise VideoError(folder, "none of the frames could be read")
            writer.audio_until = report.written / float(fps)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return report
