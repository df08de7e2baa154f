"""Frames where nobody is seen: an empty figure and a report of which, the last pose only on request.

A real clip has frames with nobody in them (an empty road between cyclists). A figure copied
from an earlier frame there pairs a person with a picture that has none, and in transfer draws
a dancer who has left, so such a frame keeps no pose: its figure is empty (black), and its
number is reported. ``hold_last`` is the old behaviour, for a user who asks for it (a person
who is plainly there but missed by the detector for a few frames).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .skeletons import Pose

SHOWN = 8  # frame numbers and runs listed before the list is cut short with "..."


@dataclass(frozen=True)
class Nobody:
    """Which of ``total`` frames had nobody; ``frames`` are frame numbers (as in the file names, from 0)."""

    frames: Tuple[int, ...] = ()
    total: int = 0
    held: bool = False  # their figures hold the last pose (asked for), instead of being empty

    @classmethod
    def of(cls, poses: Sequence[Optional[Pose]], numbers: Optional[Sequence[int]] = None,
           held: bool = False) -> "Nobody":
        numbers = range(len(poses)) if numbers is None else numbers
        return cls(tuple(int(n) for n, p in zip(numbers, poses) if p is None), len(poses), held)

    @property
    def count(self) -> int:
        return len(self.frames)

    def summary(self) -> str:
        """One line, e.g. '13 of 30 frames had nobody: 3, 4, 7-12, ... (empty figures)'; '' when none."""
        if not self.frames:
            return ""
        drawn = "their figures hold the last pose: --hold-last" if self.held else "their figures are empty"
        return (f"{self.count} of {self.total} frame{'s' if self.total != 1 else ''} had nobody: "
                f"{frame_list(self.frames)} ({drawn})")


def frame_list(frames: Sequence[int], shown: int = SHOWN) -> str:
    """'3, 4, 7-12, 20': runs of three or more as first-last, cut to ``shown`` entries then '...'."""
    runs: List[List[int]] = []
    for n in sorted(frames):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    entries: List[str] = []
    for first, last in runs:
        if last - first >= 2:
            entries.append(f"{first}-{last}")
        else:
            entries.extend(str(n) for n in range(first, last + 1))
    return ", ".join(entries[:shown] + (["..."] if len(entries) > shown else []))


def hold_last(poses: Sequence[Optional[Pose]]) -> List[Optional[Pose]]:
    """Each None replaced by the nearest earlier pose (the first pose for leading Nones)."""
    last = next((p for p in poses if p is not None), None)
    out = []
    for p in poses:
        last = p if p is not None else last
        out.append(last)
    return out
