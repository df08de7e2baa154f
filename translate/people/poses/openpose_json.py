"""OpenPose's per-frame keypoint files (``<name>_keypoints.json``), read and written.

Layout (OpenPose ``--write_json``): ``{"version": 1.3, "people": [{"person_id": [-1],
"pose_keypoints_2d": [x0, y0, c0, x1, ...], "face_keypoints_2d": [], "hand_left_keypoints_2d":
[], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [], ...}]}``; pixel coordinates,
missing joints are 0, 0, 0. The skeleton is recognised by the joint count (25 = BODY_25,
18 = COCO-18, 33 = MediaPipe); hands, where the lists hold them, make it ``body25_hands`` (or
``mediapipe33_hands``), a missing hand's list being empty; a face list (70 points) adds ``_face``
(``body25_hands_face``, ``body25_face``, ...). We add one key OpenPose does not write, ``"canvas_size": [w,
h]``, so a figure can be rendered at the frame's size without the frame; OpenPose readers
ignore it, and files without it need a size from the caller. ``person_id`` holds the tracker's
ID of each person (``translate.people.tracking``: the same number in every frame of a clip),
[-1] where there is none, as OpenPose writes when it does not track.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from translate.errors import InputNotFoundError, TranslateError
from translate.fileio import atomic_write_text

from .skeletons import FACE_POINTS, HAND_POINTS, WITH_FACE, WITH_HANDS, Pose, skeleton_for_count

BODY_OF = {hands: body for body, hands in WITH_HANDS.items()}  # a *_hands skeleton -> its body's
FACELESS = {face: base for base, face in WITH_FACE.items()}  # a *_face skeleton -> the same without the face

SUFFIX = "_keypoints.json"
NO_ID = -1  # OpenPose's person_id for a person it does not track


class KeypointFileError(TranslateError, ValueError):
    """A keypoint file that cannot be read; the message names the file."""

    def __init__(self, path: "str | os.PathLike", reason: str):
        super().__init__(f"{path}: {reason}")


@dataclass
class PoseFrame:
    """The people found in one frame, their IDs and the frame's size when known."""

    people: List[Pose] = field(default_factory=list)
    canvas_size: Optional[Tuple[int, int]] = None  # (width, height)
    ids: List[int] = field(default_factory=list)  # one per person (-1: none), or empty for none at all

    def __post_init__(self):
        if self.ids and len(self.ids) != len(self.people):
            raise ValueError(f"{len(self.ids)} IDs for {len(self.people)} people")
        self.ids = [int(i) for i in self.ids] or [NO_ID] * len(self.people)

    @property
    def main(self) -> Optional[Pose]:
        """The person the figure is drawn for: the one with the most confident joints."""
        return max(self.people, key=lambda p: float(p.points[:, 2].sum()), default=None)


def _flat(points) -> list:
    return [round(float(v), 3) for v in points.reshape(-1)]


def _person(pose: Pose, pid: int) -> dict:
    """A pose with hands or face is written as OpenPose does: the body in ``pose_keypoints_2d``,
    each hand in its own list (21 points, left first), the face in ``face_keypoints_2d`` (70)."""
    body, name, left, right, face = pose.points, pose.skeleton, [], [], []
    if name in FACELESS:  # the face comes last in every *_face skeleton
        body, face, name = body[:-FACE_POINTS], _flat(body[-FACE_POINTS:]), FACELESS[name]
    if name in BODY_OF:
        n = len(body) - 2 * HAND_POINTS
        body, left, right = body[:n], _flat(body[n:n + HAND_POINTS]), _flat(body[n + HAND_POINTS:])
    return {"person_id": [pid], "pose_keypoints_2d": _flat(body),
            "face_keypoints_2d": face, "hand_left_keypoints_2d": left, "hand_right_keypoints_2d": right,
            "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
            "hand_right_keypoints_3d": []}


def _hands(path: Path, n: int, person: dict) -> Optional[list]:
    """The person's two hand lists as one list of values, or None when the file has no hands."""
    lists = [person.get(key) or [] for key in ("hand_left_keypoints_2d", "hand_right_keypoints_2d")]
    if not any(lists):
        return None
    for key, values in zip(("hand_left_keypoints_2d", "hand_right_keypoints_2d"), lists):
        if not isinstance(values, list) or len(values) not in (0, 3 * HAND_POINTS) or not all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise KeypointFileError(path, f"person {n}: {key!r} must be empty or {HAND_POINTS} x, y, confidence numbers")
    return [v for values in lists for v in (values or [0.0] * (3 * HAND_POINTS))]


def _face(path: Path, n: int, person: dict) -> Optional[list]:
    """The person's face list, or None when the file has no face for them."""
    values = person.get("face_keypoints_2d") or []
    if not values:
        return None
    if not isinstance(values, list) or len(values) != 3 * FACE_POINTS or not all(
            isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise KeypointFileError(path, f"person {n}: 'face_keypoints_2d' must be empty or {FACE_POINTS} x, y, "
                                      f"confidence numbers")
    return values


def to_json(frame: PoseFrame) -> str:
    data = {"version": 1.3, "people": [_person(p, i) for p, i in zip(frame.people, frame.ids)]}
    if frame.canvas_size is not None:
        data["canvas_size"] = [int(frame.canvas_size[0]), int(frame.canvas_size[1])]
    return json.dumps(data)


def write_keypoints(path: "str | os.PathLike", frame: PoseFrame) -> None:
    """Write atomically (a reader never sees half a file)."""
    atomic_write_text(path, to_json(frame))


def read_keypoints(path: "str | os.PathLike") -> PoseFrame:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeypointFileError(path, f"not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise KeypointFileError(path, "no 'people' list (not an OpenPose keypoint file)")
    people, ids = [], []
    for n, person in enumerate(data["people"]):
        values = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(values, list) or len(values) % 3 or not all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise KeypointFileError(path, f"person {n}: 'pose_keypoints_2d' must be a list of finite x, y, "
                                          f"confidence numbers")
        if not values:
            continue
        try:
            name = skeleton_for_count(len(values) // 3).name
            hands, face = _hands(path, n, person), _face(path, n, person)
            if hands is not None and name in WITH_HANDS:
                name, values = WITH_HANDS[name], values + hands
            if face is not None and name in WITH_FACE:
                name, values = WITH_FACE[name], values + face
            people.append(Pose(name, values))
        except ValueError as exc:
            raise KeypointFileError(path, f"person {n}: {exc}") from None
        ids.append(_person_id(path, n, person.get("person_id", [NO_ID])))
    size = data.get("canvas_size")
    canvas = None
    if size is not None:
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            raise KeypointFileError(path, f"'canvas_size' must be [width, height] in pixels, got {size!r}")
        canvas = (size[0], size[1])
    return PoseFrame(people, canvas, ids)


def _person_id(path: Path, n: int, value) -> int:
    """OpenPose writes ``[-1]``; a tracked person ``[ID]`` (a bare number is taken too)."""
    value = value[0] if isinstance(value, list) and len(value) == 1 else value
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeypointFileError(path, f"person {n}: 'person_id' must be [ID] (a whole number), got {value!r}")
    return value


def list_keypoint_files(folder: "str | os.PathLike") -> List[Path]:
    """The ``*_keypoints.json`` files of a folder in name order (frame order for OpenPose's names)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"keypoint folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) and p.is_file())


def stem_of(path: Path) -> str:
    """``clip_000012_keypoints.json`` -> ``clip_000012`` (the frame's own name)."""
    return path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
