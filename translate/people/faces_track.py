"""Following one face through a video: which face, and smoothing so crops do not jitter.

Why choose explicitly: with several people in a frame, swapping "whichever face the
detector listed first" silently swaps the wrong person when the order flips. A
``FaceTracker`` picks by a named rule (``SELECTORS``): the largest face, the face
nearest to the one followed in the previous frame, or the N-th face from the left.

Why smooth: detector landmarks wobble by a pixel or two from frame to frame even on a
still face; the crop (and the pasted face) then shakes, the most visible artefact of
a face swap. An exponential moving average of the landmarks and box removes most of
it; a large jump (a cut, or another face) resets the filter instead of sliding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from translate.errors import InvalidSettingError
from translate.people.faces_detect import Face


def _largest(faces: List[Face], previous: Optional[Face], index: int) -> Optional[Face]:
    return max(faces, key=lambda f: f.size)


def _nearest(faces: List[Face], previous: Optional[Face], index: int) -> Optional[Face]:
    if previous is None:
        return _largest(faces, previous, index)
    return min(faces, key=lambda f: float(np.linalg.norm(f.centre - previous.centre)))


def _by_index(faces: List[Face], previous: Optional[Face], index: int) -> Optional[Face]:
    ordered = sorted(faces, key=lambda f: f.centre[0])  # left to right: stable for a user to name
    return ordered[index] if 0 <= index < len(ordered) else None


SELECTORS: Dict[str, Callable[[List[Face], Optional[Face], int], Optional[Face]]] = {
    "largest": _largest, "nearest": _nearest, "index": _by_index,
}


@dataclass
class TrackOptions:
    select: str = "largest"  # largest | nearest | index
    index: int = 0  # with select="index": 0 = leftmost face
    smoothing: float = 0.6  # 0 = none; weight of the past in the moving average, < 1
    reset_distance: float = 0.5  # a jump over this fraction of the face size restarts the filter
    min_size: float = 0.0  # ignore faces whose box side is smaller (pixels)

    def __post_init__(self) -> None:
        if self.select not in SELECTORS:
            raise InvalidSettingError(f"unknown face selection {self.select!r}; choose {', '.join(SELECTORS)}")
        if not 0.0 <= self.smoothing < 1.0:
            raise InvalidSettingError(f"smoothing must be in [0, 1), got {self.smoothing}")


class FaceTracker:
    """Feed each frame's detections in order; get back the followed face, smoothed, or None."""

    def __init__(self, options: TrackOptions = TrackOptions()):
        self.options = options
        self.previous: Optional[Face] = None  # raw choice, for "nearest"
        self.state: Optional[Face] = None  # smoothed

    def reset(self) -> None:
        self.previous = self.state = None

    def update(self, faces: List[Face]) -> Optional[Face]:
        o = self.options
        faces = [f for f in faces if f.size >= o.min_size]
        chosen = SELECTORS[o.select](faces, self.previous, o.index) if faces else None
        if chosen is None:
            self.reset()  # a frame without the face: the next one starts fresh rather than sliding in
            return None
        self.previous = chosen
        s = self.state
        if s is None or o.smoothing == 0 or \
                np.linalg.norm(chosen.centre - s.centre) > o.reset_distance * max(s.size, 1.0):
            self.state = Face(chosen.box.copy(), chosen.score, chosen.landmarks.copy())
        else:
            k = o.smoothing
            self.state = Face(k * s.box + (1 - k) * chosen.box, chosen.score,
                              k * s.landmarks + (1 - k) * chosen.landmarks)
        return self.state
