"""Which person is the dancer: ``--person ID|largest|centre``, chosen once for a whole clip.

Why once per clip: a rule applied per frame ("the largest person in this frame") jumps from
one dancer to the other whenever they pass each other, and the figures then mix two bodies.
The tracker numbers every person (``translate.people.tracking``); a rule picks one number
from the whole clip, and that person's pose is used in every frame (a frame without them has
nobody in it, reported as such).

Rules (``RULES``), over the people seen in at least half as many frames as the most-seen
person, so that someone crossing the picture for a moment is never chosen by a rule:
  largest  the person whose figure covers the most, summed over the frames (size x time seen);
           with one person in the clip this is that person, as before several were found
  centre   the person whose figure is nearest the middle of the frame on average
  ID       the person the tracker numbered ID (IDs are in the keypoint files and the preview)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from translate.errors import DataError, InvalidSettingError

from .skeletons import Pose

Person = Tuple[int, Pose]  # (ID, pose)
Frames = Sequence[Sequence[Person]]  # the people of each frame


class NoSuchPersonError(DataError):
    """The ID asked for was never seen in the clip."""


def pose_box(pose: Pose) -> Optional[np.ndarray]:
    """x0, y0, x1, y1 around the joints found (confidence above 0); None when there are none."""
    found = pose.points[pose.points[:, 2] > 0, :2]
    if not len(found):
        return None
    return np.concatenate([found.min(0), found.max(0)]).astype(np.float64)


def _area(pose: Pose) -> float:
    box = pose_box(pose)
    return 0.0 if box is None else float((box[2] - box[0]) * (box[3] - box[1]))


def _by_id(frames: Frames) -> Dict[int, List[Pose]]:
    seen: Dict[int, List[Pose]] = {}
    for people in frames:
        for pid, pose in people:
            seen.setdefault(pid, []).append(pose)
    return seen


def _regulars(frames: Frames) -> Dict[int, List[Pose]]:
    """The people seen in at least half as many frames as the most-seen person."""
    seen = _by_id(frames)
    most = max((len(p) for p in seen.values()), default=0)
    return {pid: poses for pid, poses in seen.items() if 2 * len(poses) >= most}


def _largest(frames: Frames, size: Tuple[int, int]) -> Optional[int]:
    people = _regulars(frames)
    return max(sorted(people), key=lambda pid: sum(_area(p) for p in people[pid]), default=None)


def _centre(frames: Frames, size: Tuple[int, int]) -> Optional[int]:
    middle = np.array(size, np.float64) / 2

    def distance(pose: Pose) -> float:
        box = pose_box(pose)
        return float(np.linalg.norm((box[:2] + box[2:]) / 2 - middle)) if box is not None else float("inf")

    people = _regulars(frames)
    return min(sorted(people), key=lambda pid: float(np.mean([distance(p) for p in people[pid]])), default=None)


RULES: Dict[str, Callable[[Frames, Tuple[int, int]], Optional[int]]] = {"largest": _largest, "centre": _centre}
ALIASES = {"center": "centre"}


@dataclass(frozen=True)
class PersonChoice:
    """A rule name from ``RULES``, or a tracker ID."""

    rule: str = "largest"
    id: Optional[int] = None

    @classmethod
    def parse(cls, text: str, flag: str = "--person") -> "PersonChoice":
        """'largest', 'centre' (or 'center') or an ID such as '2'; anything else is a one-line error
        naming ``flag``."""
        word = ALIASES.get(str(text).strip().lower(), str(text).strip().lower())
        if word in RULES:
            return cls(word)
        if word.isdigit() and int(word) >= 1:
            return cls("id", int(word))
        raise InvalidSettingError(f"{flag} must be an ID (1, 2, ...) or one of {', '.join(RULES)}; got {text!r}")

    def describe(self) -> str:
        return f"ID {self.id}" if self.rule == "id" else self.rule

    def choose(self, frames: Frames, size: Tuple[int, int]) -> Optional[int]:
        """The ID of the person chosen in ``frames`` (frames of ``size`` = width, height); None
        when nobody was seen; an ID never seen is an error that lists the IDs there were."""
        if self.rule != "id":
            return RULES[self.rule](frames, size)
        seen = _by_id(frames)
        if self.id not in seen:
            there = ", ".join(str(i) for i in sorted(seen)) or "none"
            raise NoSuchPersonError(f"--person {self.id}: no person had that ID (IDs seen: {there})")
        return self.id


def poses_of(frames: Frames, pid: Optional[int]) -> List[Optional[Pose]]:
    """The chosen person's pose in each frame, None where they were not seen."""
    return [next((pose for i, pose in people if i == pid), None) for people in frames]
