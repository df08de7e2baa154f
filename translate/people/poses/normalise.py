"""Global pose normalisation (Everybody Dance Now, section 3.3): source poses in the target's framing.

People stand at different distances from the camera in the two videos, so a source figure
drawn as it is would be the wrong size and in the wrong place for the target's generator.
Per video we measure, from its (smoothed) poses:
  ankle_close  the lowest ankle position in the image (feet nearest the camera), y in pixels
  ankle_far    the highest ankle position (the farthest the feet go: the horizon they reach)
  height_close / height_far  the tallest body (ankle midpoint y - nose y) among frames whose
               ankles are within ``tolerance`` x frame height of each position
For each source frame with ankle position a:
  p      = (a - src.ankle_far) / (src.ankle_close - src.ankle_far)   (0 far, 1 close)
  scale  = tgt.height_far/src.height_far + p (tgt.height_close/src.height_close - tgt.height_far/src.height_far)
  a'     = tgt.ankle_far + p (tgt.ankle_close - tgt.ankle_far)
  x'     = tgt centre x + scale (x - src centre x);  y' = a' + scale (y - a)
i.e. a scale about the frame centre and the vertical translation that puts the ankles at the
same relative place between the target's far and close positions. A video whose feet never
move in depth (close == far) has one position: p = 1 throughout. A frame without ankles keeps
the previous frame's p. Only joints seen count (``seen.is_seen`` at the figure's threshold, the
one that decides what is drawn): an ankle the estimator guessed below a waist-up frame would
otherwise set the ground line. The statistics are saved as JSON so a run can be repeated and checked.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Iterable, Optional, Tuple

import numpy as np

from translate.errors import DataError
from translate.fileio import atomic_write_text

from .seen import is_seen
from .skeletons import Pose, convert

MIN_CONFIDENCE = 0.3


@dataclass(frozen=True)
class PoseStats:
    frame_size: Tuple[int, int]  # (width, height) of the video's frames
    ankle_close: float
    ankle_far: float
    height_close: float
    height_far: float
    frames: int  # poses the statistics came from

    def describe(self) -> str:
        return (f"ankles far {self.ankle_far:.1f} px (body {self.height_far:.1f} px tall), close "
                f"{self.ankle_close:.1f} px (body {self.height_close:.1f} px) in {self.frame_size[0]}x"
                f"{self.frame_size[1]}, from {self.frames} frames")

    def save(self, path: "str | os.PathLike") -> None:
        atomic_write_text(path, json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: "str | os.PathLike") -> "PoseStats":
        try:
            data = json.loads(open(path).read())
            data["frame_size"] = tuple(data["frame_size"])
            stats = cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise DataError(f"{path}: not a pose statistics file ({exc})") from None
        if min(stats.height_close, stats.height_far) <= 0:
            raise DataError(f"{path}: body heights must be positive")
        return stats


def ankle_and_height(pose: Pose, min_confidence: float = MIN_CONFIDENCE) -> Optional[Tuple[float, float]]:
    """(ankle y, nose-to-ankle height) of one pose, or None if its nose or both ankles are unsure."""
    coco = convert(pose, "coco18")
    ankles = [coco.joint(n) for n in ("left_ankle", "right_ankle")]
    ankles = [a[1] for a in ankles if is_seen(a[2], min_confidence)]
    nose = coco.joint("nose")
    if not ankles or not is_seen(nose[2], min_confidence):
        return None
    ankle = float(np.mean(ankles))
    return ankle, ankle - float(nose[1])


def pose_stats(poses: Iterable[Optional[Pose]], frame_size: Tuple[int, int], tolerance: float = 0.05,
               min_confidence: float = MIN_CONFIDENCE) -> PoseStats:
    """The video's statistics (see the module docstring); raises if no pose shows a nose and an ankle."""
    measured = [m for m in (ankle_and_height(p, min_confidence) for p in poses if p is not None)
                if m is not None and m[1] > 0]
    if not measured:
        raise DataError("no frame shows the person's nose and ankles: cannot measure their framing")
    ankles = np.array([m[0] for m in measured])
    heights = np.array([m[1] for m in measured])
    close, far = float(ankles.max()), float(ankles.min())
    near = tolerance * frame_size[1]
    return PoseStats((int(frame_size[0]), int(frame_size[1])), close, far,
                     float(heights[ankles >= close - near].max()), float(heights[ankles <= far + near].max()),
                     len(measured))


class PoseNormaliser:
    """Maps source poses into the target's framing (see the module docstring)."""

    def __init__(self, source: PoseStats, target: PoseStats, min_confidence: float = MIN_CONFIDENCE):
        self.source, self.target = source, target
        self.min_confidence = min_confidence
        self.p = 1.0

    def position(self, ankle: float) -> float:
        depth = self.source.ankle_close - self.source.ankle_far
        return 1.0 if depth < 1e-6 else (ankle - self.source.ankle_far) / depth

    def __call__(self, pose: Pose) -> Pose:
        s, t = self.source, self.target
        coco = convert(pose, "coco18")
        ankles = [a for a in (coco.joint("left_ankle"), coco.joint("right_ankle"))
                  if is_seen(a[2], self.min_confidence)]
        if ankles:
            self.p = self.position(float(np.mean([a[1] for a in ankles])))
        far, close = t.height_far / s.height_far, t.height_close / s.height_close
        scale = far + self.p * (close - far)
        src_ankle = s.ankle_far + self.p * (s.ankle_close - s.ankle_far)
        tgt_ankle = t.ankle_far + self.p * (t.ankle_close - t.ankle_far)
        out = pose.copy()
        out.points[:, 0] = t.frame_size[0] / 2 + scale * (pose.points[:, 0] - s.frame_size[0] / 2)
        out.points[:, 1] = tgt_ankle + scale * (pose.points[:, 1] - src_ankle)
        return out

    def describe(self) -> str:
        s, t = self.source, self.target
        return (f"scale {t.height_far / s.height_far:.3f} far .. {t.height_close / s.height_close:.3f} close; "
                f"ankles {s.ankle_far:.1f}..{s.ankle_close:.1f} px -> {t.ankle_far:.1f}..{t.ankle_close:.1f} px")
