"""Skeleton formats and the one adapter between them.

A skeleton is an ordered list of joint names and the limbs drawn between them. Joints share
one vocabulary across formats (``right_shoulder`` is the person's right shoulder in all of
them), so converting is a lookup by name; joints one format has and another lacks are
derived from named parts (OpenPose's ``neck`` is the middle of the shoulders, ``mid_hip`` the
middle of the hips, BODY_25's big toe is MediaPipe's foot index) or left missing (0, 0, 0 as
in OpenPose files). Confidence of a derived joint is the smallest of its parts, so a neck
is never surer than the shoulders it came from.

Formats (index order is each format's published order):
  coco18      OpenPose COCO-18
  body25      OpenPose BODY_25 (COCO-18 plus mid hip and six foot joints)
  mediapipe33 MediaPipe Pose landmarks (visibility used as confidence)
  body25_hands, mediapipe33_hands  the same with both hands, 21 points each in OpenPose's hand
              order (wrist, then thumb, index, middle, ring and little finger from base to tip),
              which is also MediaPipe Hands' order; in OpenPose files the hands are their own
              lists (hand_left_keypoints_2d, hand_right_keypoints_2d)
  body25_face, mediapipe33_face, body25_hands_face, mediapipe33_hands_face  the same (hands or
              not) with the face's 70 points ``face_0`` .. ``face_69`` after everything else, in
              OpenPose's face order (the 68 points of the iBUG 300-W layout, then the right and
              left pupil; ``face.py`` says which is which); in OpenPose files, face_keypoints_2d
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np

from translate.registry import Registry

SKELETONS = Registry("skeleton")

_COCO18 = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
           "right_eye", "left_eye", "right_ear", "left_ear")
# OpenPose's COCO limb list (pose/poseParameters: POSE_COCO_PAIRS_RENDER).
_COCO18_LIMBS = (("neck", "right_shoulder"), ("neck", "left_shoulder"), ("right_shoulder", "right_elbow"),
                 ("right_elbow", "right_wrist"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
                 ("neck", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
                 ("neck", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
                 ("neck", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"), ("nose", "left_eye"),
                 ("left_eye", "left_ear"))
_BODY25 = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
           "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
           "left_heel", "right_big_toe", "right_small_toe", "right_heel")
_BODY25_LIMBS = (("neck", "mid_hip"), ("neck", "right_shoulder"), ("neck", "left_shoulder"),
                 ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_shoulder", "left_elbow"),
                 ("left_elbow", "left_wrist"), ("mid_hip", "right_hip"), ("right_hip", "right_knee"),
                 ("right_knee", "right_ankle"), ("mid_hip", "left_hip"), ("left_hip", "left_knee"),
                 ("left_knee", "left_ankle"), ("neck", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"),
                 ("nose", "left_eye"), ("left_eye", "left_ear"), ("left_ankle", "left_big_toe"),
                 ("left_big_toe", "left_small_toe"), ("left_ankle", "left_heel"), ("right_ankle", "right_big_toe"),
                 ("right_big_toe", "right_small_toe"), ("right_ankle", "right_heel"))
_MEDIAPIPE33 = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
                "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
                "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
                "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
                "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
                "left_foot_index", "right_foot_index")
_MEDIAPIPE33_LIMBS = (("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
                      ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
                      ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
                      ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
                      ("right_knee", "right_ankle"), ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"),
                      ("right_ankle", "right_heel"), ("right_heel", "right_foot_index"), ("nose", "left_eye"),
                      ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"))

_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
HAND_POINTS = 21


def hand_joints(side: str) -> Tuple[str, ...]:
    """``side``'s 21 hand points: ``left_hand_wrist``, ``left_hand_thumb1`` .. ``left_hand_pinky4``."""
    return (f"{side}_hand_wrist",) + tuple(f"{side}_hand_{finger}{k}" for finger in _FINGERS for k in range(1, 5))


def hand_limbs(side: str) -> Tuple[Tuple[str, str], ...]:
    """Each finger as a chain from the wrist: 20 bones a hand."""
    limbs = []
    for finger in _FINGERS:
        chain = [f"{side}_hand_wrist"] + [f"{side}_hand_{finger}{k}" for k in range(1, 5)]
        limbs += list(zip(chain, chain[1:]))
    return tuple(limbs)


HANDS = hand_joints("left") + hand_joints("right")  # OpenPose writes the left hand's list first
HAND_LIMBS = hand_limbs("left") + hand_limbs("right")


def is_hand_joint(name: str) -> bool:
    return "_hand_" in name


FACE_POINTS = 70
FACE = tuple(f"face_{k}" for k in range(FACE_POINTS))
# OpenPose's face lines (face/faceParameters: FACE_PAIRS_RENDER): jaw, brows, nose bridge and
# nostrils as open chains, eyes and both lip outlines closed; the pupils (68, 69) are points of
# the file but no line ends at them, so a figure does not draw them.
_FACE_CHAINS = ((range(0, 17), False), (range(17, 22), False), (range(22, 27), False), (range(27, 31), False),
                (range(31, 36), False), (range(36, 42), True), (range(42, 48), True), (range(48, 60), True),
                (range(60, 68), True))
FACE_LIMBS = tuple((FACE[a], FACE[b]) for chain, closed in _FACE_CHAINS
                   for a, b in zip(chain, list(chain[1:]) + ([chain[0]] if closed else [])))


def is_face_joint(name: str) -> bool:
    return name.startswith("face_")


# Joints a format lacks, made from joints it may have (tried in order, first complete wins).
DERIVED: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    "neck": (("left_shoulder", "right_shoulder"),),
    "mid_hip": (("left_hip", "right_hip"),),
    "left_big_toe": (("left_foot_index",),),
    "right_big_toe": (("right_foot_index",),),
    "left_foot_index": (("left_big_toe",),),
    "right_foot_index": (("right_big_toe",),),
}


@dataclass(frozen=True)
class Skeleton:
    """A keypoint format: joint names in file order and the limbs between them."""

    name: str
    joints: Tuple[str, ...]
    limbs: Tuple[Tuple[str, str], ...]
    index: Dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "index", {n: i for i, n in enumerate(self.joints)})
        unknown = {j for limb in self.limbs for j in limb} - set(self.joints)
        if unknown:
            raise ValueError(f"skeleton {self.name}: limbs name unknown joints {sorted(unknown)}")


def _register(skeleton: Skeleton, summary: str) -> None:
    def build() -> Skeleton:
        return skeleton

    build.__doc__ = summary
    SKELETONS.register(skeleton.name)(build)


_register(Skeleton("coco18", _COCO18, _COCO18_LIMBS), "OpenPose COCO-18 (18 joints, 17 limbs)")
_register(Skeleton("body25", _BODY25, _BODY25_LIMBS), "OpenPose BODY_25 (COCO-18 + mid hip + feet)")
_register(Skeleton("mediapipe33", _MEDIAPIPE33, _MEDIAPIPE33_LIMBS), "MediaPipe Pose (33 landmarks)")
_register(Skeleton("body25_hands", _BODY25 + HANDS, _BODY25_LIMBS + HAND_LIMBS),
          "OpenPose BODY_25 with both hands (25 + 2 x 21 points)")
_register(Skeleton("mediapipe33_hands", _MEDIAPIPE33 + HANDS, _MEDIAPIPE33_LIMBS + HAND_LIMBS),
          "MediaPipe Pose with MediaPipe Hands (33 + 2 x 21 points)")

_register(Skeleton("body25_face", _BODY25 + FACE, _BODY25_LIMBS + FACE_LIMBS),
          "OpenPose BODY_25 with the face (25 + 70 points)")
_register(Skeleton("mediapipe33_face", _MEDIAPIPE33 + FACE, _MEDIAPIPE33_LIMBS + FACE_LIMBS),
          "MediaPipe Pose with the face mesh's 70 OpenPose face points (33 + 70 points)")
_register(Skeleton("body25_hands_face", _BODY25 + HANDS + FACE, _BODY25_LIMBS + HAND_LIMBS + FACE_LIMBS),
          "OpenPose BODY_25 with both hands and the face (25 + 2 x 21 + 70 points), Everybody Dance Now's figure")
_register(Skeleton("mediapipe33_hands_face", _MEDIAPIPE33 + HANDS + FACE,
                   _MEDIAPIPE33_LIMBS + HAND_LIMBS + FACE_LIMBS),
          "MediaPipe Pose, Hands and the face mesh's 70 face points (33 + 2 x 21 + 70 points)")

WITH_HANDS = {"body25": "body25_hands", "mediapipe33": "mediapipe33_hands"}  # a body skeleton -> with hands
# a skeleton (hands or not) -> the same with the face, which always comes last
WITH_FACE = {"body25": "body25_face", "mediapipe33": "mediapipe33_face", "body25_hands": "body25_hands_face",
             "mediapipe33_hands": "mediapipe33_hands_face"}


def skeleton(name: str) -> Skeleton:
    return SKELETONS.build(name)


def has_hands(name: str) -> bool:
    """Whether skeleton ``name`` has hand points (figures drawn in it need a hand estimator)."""
    return any(is_hand_joint(joint) for joint in skeleton(name).joints)


def has_face(name: str) -> bool:
    """Whether skeleton ``name`` has the face's points (figures drawn in it need a face estimator)."""
    return any(is_face_joint(joint) for joint in skeleton(name).joints)


def skeleton_for_count(count: int) -> Skeleton:
    """The format with ``count`` joints (how an OpenPose file's skeleton is recognised)."""
    for name in SKELETONS.names():
        s = skeleton(name)
        if len(s.joints) == count:
            return s
    known = ", ".join(f"{n} ({len(skeleton(n).joints)})" for n in SKELETONS.names())
    raise ValueError(f"no skeleton has {count} joints (known: {known})")


@dataclass
class Pose:
    """One person's keypoints: ``points`` is (joints, 3) float32 x, y (pixels), confidence (0 = missing)."""

    skeleton: str
    points: np.ndarray

    def __post_init__(self):
        self.points = np.asarray(self.points, dtype=np.float32).reshape(-1, 3)
        expected = len(skeleton(self.skeleton).joints)
        if len(self.points) != expected:
            raise ValueError(f"a {self.skeleton} pose has {expected} joints, got {len(self.points)}")

    def joint(self, name: str) -> np.ndarray:
        return self.points[skeleton(self.skeleton).index[name]]

    def copy(self) -> "Pose":
        return Pose(self.skeleton, self.points.copy())


def convert(pose: Pose, to: str) -> Pose:
    """The same pose in another skeleton format (joints matched by name, see DERIVED)."""
    if pose.skeleton == to:
        return pose.copy()
    src, dst = skeleton(pose.skeleton), skeleton(to)
    out = np.zeros((len(dst.joints), 3), np.float32)
    for i, name in enumerate(dst.joints):
        if name in src.index:
            out[i] = pose.points[src.index[name]]
            continue
        for parts in DERIVED.get(name, ()):
            if all(p in src.index for p in parts):
                rows = pose.points[[src.index[p] for p in parts]]
                if (rows[:, 2] > 0).all():  # a midpoint of a missing joint would be wrong, not just unsure
                    out[i, :2] = rows[:, :2].mean(0)
                    out[i, 2] = rows[:, 2].min()
                break
    return Pose(to, out)
