"""A clip's people, numbered: each frame's poses through the ID tracker, and the dancer chosen.

Extraction and transfer both read a clip once, pose everyone in each frame, and only at the
end choose whose poses become figures (the rules in ``choose.py`` look at the whole clip).
``PeopleRecord`` is what that pass keeps: the numbered people of every frame (small: keypoints
only) and one frame to show them on, the first with the most people in it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from translate.people.tracking import IdTracker, TrackingOptions

from .choose import Person, PersonChoice, pose_box, poses_of
from .skeletons import Pose


@dataclass
class Chosen:
    """The person chosen, how, and their pose in each frame (None where unseen)."""

    id: Optional[int]
    choice: PersonChoice
    poses: List[Optional[Pose]]


@dataclass
class PeopleRecord:
    frames: List[List[Person]] = field(default_factory=list)
    size: Tuple[int, int] = (0, 0)  # width, height
    shown: Optional[np.ndarray] = None  # the frame the preview is drawn on
    shown_index: int = -1  # its position in ``frames``
    tracker: IdTracker = field(default_factory=IdTracker, repr=False)

    @classmethod
    def with_options(cls, options: TrackingOptions) -> "PeopleRecord":
        return cls(tracker=IdTracker(options))

    def add(self, poses: Sequence[Pose], image: np.ndarray) -> List[Person]:
        """Number this frame's ``poses`` (poses with no joint found are left out) and keep the frame
        if it shows more people than any before."""
        poses = [p for p in poses if pose_box(p) is not None]
        ids = self.tracker.update([pose_box(p) for p in poses])
        people = sorted(zip(ids, poses), key=lambda person: person[0])
        self.frames.append(people)
        self.size = (image.shape[1], image.shape[0])
        if self.shown is None or len(people) > len(self.frames[self.shown_index]):
            self.shown, self.shown_index = image.copy(), len(self.frames) - 1
        return people

    def ids(self) -> List[int]:
        return sorted({pid for people in self.frames for pid, _ in people})

    def choose(self, choice: PersonChoice) -> Chosen:
        pid = choice.choose(self.frames, self.size)
        return Chosen(pid, choice, poses_of(self.frames, pid))

    def summary(self, chosen: Chosen) -> str:
        """One line: who was there and who was chosen, e.g. 'people: 2 (IDs 1, 2); chosen: ID 2 by
        centre, seen in 28 of 30 frames'."""
        ids = self.ids()
        if chosen.id is None:
            return "people: nobody found"
        seen = sum(p is not None for p in chosen.poses)
        how = "" if chosen.choice.rule == "id" else f" by {chosen.choice.describe()}"
        return (f"people: {len(ids)} (ID{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}); chosen: ID "
                f"{chosen.id}{how}, seen in {seen} of {len(self.frames)} frames")
