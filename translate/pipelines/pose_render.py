"""Stick figures from a folder of OpenPose keypoint files: read, smooth over time, draw, write.

What ``translate poses render`` runs; a file that cannot be read is listed in the report and
the others are still drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from translate.data import write_image
from translate.errors import InputNotFoundError
from translate.fileio import atomic_path
from translate.people.poses.openpose_json import KeypointFileError, list_keypoint_files, read_keypoints, stem_of
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.skeletons import convert
from translate.people.poses.smoothing import SmoothingOptions, smooth_poses


@dataclass
class RenderReport:
    written: int = 0
    output: Optional[Path] = None
    failed: List[str] = field(default_factory=list)  # one line per unreadable keypoint file


def render_keypoints(keypoints: Path, figures: Path, style: FigureStyle, smoothing: SmoothingOptions,
                     size: Optional[Tuple[int, int]] = None) -> RenderReport:
    """Draw every ``*_keypoints.json`` under ``keypoints`` into ``figures`` (PNG, or .npy label maps).

    ``size`` (width, height) is the canvas for files that do not record their own.
    """
    files = list_keypoint_files(keypoints)
    if not files:
        raise InputNotFoundError(f"{keypoints}: no *_keypoints.json files")
    report = RenderReport(output=Path(figures))
    frames, poses = [], []
    for path in files:
        try:
            frame = read_keypoints(path)
            canvas = frame.canvas_size or size
            if canvas is None:
                raise KeypointFileError(path, "no 'canvas_size' in the file; give --size WIDTHxHEIGHT")
        except KeypointFileError as exc:
            report.failed.append(str(exc))
            continue
        frames.append((path, canvas))
        main = frame.main
        poses.append(None if main is None else convert(main, style.skeleton))
    out = Path(figures)
    for (path, canvas), pose in tqdm(list(zip(frames, smooth_poses(poses, smoothing))), desc="render",
                                     unit="figure", dynamic_ncols=True):
        figure = render_pose(pose, canvas, style)
        if style.mode == "colour":
            write_image(out / f"{stem_of(path)}.png", figure)
        else:
            out.mkdir(parents=True, exist_ok=True)
            with atomic_path(out / f"{stem_of(path)}.npy") as tmp:
                np.save(tmp, figure)
        report.written += 1
    return report
