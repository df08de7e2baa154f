"""A clip's faces, numbered, and the one to swap: ``--face ID|largest|centre`` over the whole clip.

A face swap reads the clip once for faces only (no generator): every face of every frame gets an
ID from the shared tracker (``tracking.IdTracker``), and the rules of ``choosing`` pick one ID.
The swap pass then numbers the faces the same way (same frames, same detector, same tracker:
the same IDs) and replaces only the chosen one; other faces are left untouched.

Why all IDs when faces come one at a time: with a single person, a face turned away for a second
or a cut ends its track and the face comes back under a new ID. A clip that never shows two faces
in one frame has nobody to confuse, so by a rule every ID is swapped, as before faces were numbered.
An ID asked for by number is always that ID alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Sequence, Tuple

import numpy as np

from translate.people.choosing import Choice
from translate.people.faces_detect import Face
from translate.people.tracking import IdTracker, TrackingOptions

Numbered = Tuple[int, Face]


def face_box(face: Face) -> np.ndarray:
    """x0, y0, x1, y1 (the tracker's boxes) from a face's x, y, w, h."""
    x, y, w, h = np.asarray(face.box, np.float64)
    return np.array([x, y, x + w, y + h])


class FaceNumbering:
    """Each frame's faces with their tracker IDs, in order of the frames."""

    def __init__(self, options: TrackingOptions = TrackingOptions()):
        self.options = options
        self.tracker = IdTracker(options)

    def reset(self) -> None:
        self.tracker = IdTracker(self.options)

    def __call__(self, faces: Sequence[Face]) -> List[Numbered]:
        ids = self.tracker.update([face_box(f) for f in faces])
        return sorted(zip(ids, faces), key=lambda n: n[0])


@dataclass
class ChosenFaces:
    ids: FrozenSet[int]  # the IDs swapped (empty: no face in the clip)
    choice: Choice
    summary: str


@dataclass
class FaceRecord:
    """What the scan keeps: the numbered faces of every frame, and the frame with the most faces."""

    frames: List[List[Numbered]] = field(default_factory=list)
    size: Tuple[int, int] = (0, 0)  # width, height
    shown: Optional[np.ndarray] = None
    shown_index: int = -1

    def add(self, faces: List[Numbered], image: np.ndarray) -> None:
        self.frames.append(faces)
        self.size = (image.shape[1], image.shape[0])
        if self.shown is None or len(faces) > len(self.frames[self.shown_index]):
            self.shown, self.shown_index = image.copy(), len(self.frames) - 1

    def ids(self) -> List[int]:
        return sorted({fid for faces in self.frames for fid, _ in faces})

    def choose(self, choice: Choice) -> ChosenFaces:
        """The IDs to swap; an ID never seen raises ``choosing.NoSuchIdError`` listing those seen."""
        boxes = [[(fid, face_box(f)) for fid, f in faces] for faces in self.frames]
        chosen = choice.choose(boxes, self.size)
        ids = self.ids()
        if chosen is None:
            return ChosenFaces(frozenset(), choice, "faces: none found")
        one_at_a_time = max(len(faces) for faces in self.frames) <= 1
        picked = frozenset(ids) if choice.rule != "id" and one_at_a_time else frozenset({chosen})
        seen = sum(any(fid in picked for fid, _ in faces) for faces in self.frames)
        how = "" if choice.rule == "id" else f" by {choice.describe()}"
        names = ", ".join(map(str, sorted(picked)))
        return ChosenFaces(picked, choice, f"faces: {len(ids)} (ID{'s' if len(ids) > 1 else ''} "
                                           f"{', '.join(map(str, ids))}); swapped: ID{'s' if len(picked) > 1 else ''} "
                                           f"{names}{how}, seen in {seen} of {len(self.frames)} frames")
