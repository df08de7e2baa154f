"""Which one of several numbered people or faces: ``ID|largest|centre``, chosen once for a whole clip.

Why once per clip: a rule applied per frame ("the largest face in this frame") jumps from one
person to the other whenever they pass each other. The ID tracker (``tracking.py``) numbers
everyone; a rule picks one number from the whole clip, and that one is used in every frame.

This module knows only boxes (x0, y0, x1, y1 per ID per frame), so faces and poses share it:
``faces_choose`` maps faces to boxes, ``poses/choose.py`` people to the boxes around their joints.

Rules (``RULES``), over the IDs seen in at least half as many frames as the most-seen one, so
that someone crossing the picture for a moment is never chosen by a rule:
  largest  the most area summed over the frames (size x time seen)
  centre   nearest the middle of the frame on average
  ID       the one the tracker numbered ID (drawn in the preview)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from translate.errors import DataError, InvalidSettingError

Box = np.ndarray  # x0, y0, x1, y1
Seen = Sequence[Sequence[Tuple[int, Box]]]  # each frame's (ID, box) pairs


class NoSuchIdError(DataError):
    """The ID asked for was never seen in the clip."""


def _by_id(frames: Seen) -> Dict[int, List[Box]]:
    seen: Dict[int, List[Box]] = {}
    for people in frames:
        for pid, box in people:
            seen.setdefault(pid, []).append(np.asarray(box, np.float64))
    return seen


def _regulars(frames: Seen) -> Dict[int, List[Box]]:
    seen = _by_id(frames)
    most = max((len(b) for b in seen.values()), default=0)
    return {pid: boxes for pid, boxes in seen.items() if 2 * len(boxes) >= most}


def _largest(frames: Seen, size: Tuple[int, int]) -> Optional[int]:
    people = _regulars(frames)
    area = {pid: sum(float((b[2] - b[0]) * (b[3] - b[1])) for b in boxes) for pid, boxes in people.items()}
    return max(sorted(area), key=area.get, default=None)


def _centre(frames: Seen, size: Tuple[int, int]) -> Optional[int]:
    middle = np.array(size, np.float64) / 2
    people = _regulars(frames)
    far = {pid: float(np.mean([np.linalg.norm((b[:2] + b[2:]) / 2 - middle) for b in boxes]))
           for pid, boxes in people.items()}
    return min(sorted(far), key=far.get, default=None)


RULES: Dict[str, Callable[[Seen, Tuple[int, int]], Optional[int]]] = {"largest": _largest, "centre": _centre}
ALIASES = {"center": "centre"}


@dataclass(frozen=True)
class Choice:
    """A rule name from ``RULES``, or a tracker ID; ``flag`` and ``noun`` word its errors."""

    rule: str = "largest"
    id: Optional[int] = None
    flag: str = "--face"
    noun: str = "face"

    @classmethod
    def parse(cls, text: str, flag: str = "--face", noun: str = "face") -> "Choice":
        word = ALIASES.get(str(text).strip().lower(), str(text).strip().lower())
        if word in RULES:
            return cls(word, None, flag, noun)
        if word.isdigit() and int(word) >= 1:
            return cls("id", int(word), flag, noun)
        raise InvalidSettingError(f"{flag} must be an ID (1, 2, ...) or one of {', '.join(RULES)}; got {text!r}")

    def describe(self) -> str:
        return f"ID {self.id}" if self.rule == "id" else self.rule

    def choose(self, frames: Seen, size: Tuple[int, int]) -> Optional[int]:
        """The chosen ID in ``frames`` (of ``size`` = width, height); None when nothing was seen; an ID
        never seen is an error listing the IDs there were."""
        if self.rule != "id":
            return RULES[self.rule](frames, size)
        seen = _by_id(frames)
        if self.id not in seen:
            there = ", ".join(str(i) for i in sorted(seen)) or "none"
            raise NoSuchIdError(f"{self.flag} {self.id}: no {self.noun} had that ID (IDs seen: {there})")
        return self.id
