"""Which person is the dancer: ``--person ID|largest|centre``, chosen once for a whole clip.

Why once per clip: a rule applied per frame ("the largest person in this frame") jumps from
one dancer to the other whenever they pass each other, and the figures then mix two bodies.
The tracker numbers every person (``translate.people.tracking``); a rule picks one number
from the whole clip, and that person's pose is used in every frame (a frame without them has
nobody in it, reported as such).

Rules (``translate.people.choosing.RULES``, shared with faces), over the people seen in at least half as many frames as the most-seen
person, so that someone crossing the picture for a moment is never chosen by a rule:
  largest  the person whose figure covers the most, summed over the frames (size x time seen);
           with one person in the clip this is that person, as before several were found
  centre   the person whose figure is nearest the middle of the frame on average
  ID       the person the tracker numbered ID (IDs are in the keypoint files and the preview)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from translate.errors import DataError
from translate.people.choosing import Choice, NoSuchIdError

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


def _boxes(frames: Frames):
    """Each frame's (ID, box) pairs: the rules of ``translate.people.choosing`` see people as boxes."""
    return [[(pid, box) for pid, box in ((pid, pose_box(pose)) for pid, pose in people) if box is not None]
            for people in frames]


@dataclass(frozen=True)
class PersonChoice:
    """A rule name from ``translate.people.choosing.RULES`` (largest, centre), or a tracker ID:
    the same rules faces are chosen by, over the boxes around each person's joints."""

    rule: str = "largest"
    id: Optional[int] = None

    @classmethod
    def parse(cls, text: str, flag: str = "--person") -> "PersonChoice":
        """'largest', 'centre' (or 'center') or an ID such as '2'; anything else is a one-line error
        naming ``flag``."""
        choice = Choice.parse(text, flag, "person")
        return cls(choice.rule, choice.id)

    def describe(self) -> str:
        return f"ID {self.id}" if self.rule == "id" else self.rule

    def choose(self, frames: Frames, size: Tuple[int, int]) -> Optional[int]:
        """The ID of the person chosen in ``frames`` (frames of ``size`` = width, height); None
        when nobody was seen; an ID never seen is an error that lists the IDs there were."""
        try:
            return Choice(self.rule, self.id, "--person", "person").choose(_boxes(frames), size)
        except NoSuchIdError as exc:
            raise NoSuchPersonError(str(exc)) from None


def poses_of(frames: Frames, pid: Optional[int]) -> List[Optional[Pose]]:
    """The chosen person's pose in each frame, None where they were not seen."""
    return [next((pose for i, pose in people if i == pid), None) for people in frames]
