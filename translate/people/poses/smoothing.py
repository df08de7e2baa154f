"""Keypoints smoothed over time: a short confidence-aware median.

Estimators jitter by a few pixels from frame to frame and drop joints now and then; drawn
as they are, figures flicker and the generator learns (and later produces) the flicker. For
each joint of each frame we take the median x and y of the confident values in a centred
window of ``window`` frames. A median, unlike a mean, ignores a single wild detection, and
the confidence test keeps missing joints (0, 0) from pulling the median to the corner. A
joint missing in this frame but confident in at least half of its window neighbours is filled
in (its confidence is then the median of theirs); one confident in too few stays missing, so
smoothing never invents a limb that was not seen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .seen import check_threshold, is_seen
from .skeletons import Pose

from translate.errors import DataError, InvalidSettingError


@dataclass(frozen=True)
class SmoothingOptions:
    window: int = 5  # frames, odd; 1 switches smoothing off
    min_confidence: float = 0.3

    def __post_init__(self):
        if self.window < 1 or self.window % 2 == 0:
            raise InvalidSettingError(f"smoothing window must be a positive odd number of frames, got {self.window}")
        check_threshold(self.min_confidence, "--min-confidence")


def smooth_points(points: np.ndarray, options: SmoothingOptions = SmoothingOptions()) -> np.ndarray:
    """(frames, joints, 3) -> the same shape, smoothed as the module docstring says."""
    points = np.asarray(points, np.float32)
    if options.window == 1 or len(points) == 0:
        return points.copy()
    half = options.window // 2
    out = points.copy()
    confident = is_seen(points[..., 2], options.min_confidence)
    for t in range(len(points)):
        lo, hi = max(0, t - half), min(len(points), t + half + 1)
        span, ok = points[lo:hi], confident[lo:hi]
        for j in range(points.shape[1]):
            rows = span[ok[:, j], j]
            if confident[t, j]:
                out[t, j, :2] = np.median(rows[:, :2], axis=0)
            elif 2 * len(rows) >= hi - lo - 1 and len(rows):  # enough neighbours saw it: fill the gap
                out[t, j, :2] = np.median(rows[:, :2], axis=0)
                out[t, j, 2] = float(np.median(rows[:, 2]))
    return out


def smooth_poses(poses: Sequence[Optional[Pose]], options: SmoothingOptions = SmoothingOptions()) -> List[Optional[Pose]]:
    """Smooth one person's poses over a clip; frames with no pose (None) stay None and split nothing."""
    present = [i for i, p in enumerate(poses) if p is not None]
    if not present:
        return list(poses)
    kinds = {poses[i].skeleton for i in present}
    if len(kinds) > 1:
        raise DataError(f"cannot smooth a clip mixing skeletons {sorted(kinds)}; convert them first")
    smoothed = smooth_points(np.stack([poses[i].points for i in present]), options)
    out: List[Optional[Pose]] = [None] * len(poses)
    for k, i in enumerate(present):
        out[i] = Pose(poses[i].skeleton, smoothed[k])
    return out

