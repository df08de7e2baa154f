"""Both hands of every person: MediaPipe Hands (its palm detector and 21-point hand model, both in
the wheel), each hand given to the person whose wrist it starts at.

Why hands: Everybody Dance Now's figures are OpenPose's BODY_25 with hands and face; a figure
without fingers leaves the generator to invent them. Figures drawn in a ``*_hands`` skeleton
(``--figure body25_hands``) ask for them, so extraction and transfer find hands only then.

Whose hand: the hand model knows nothing of bodies, and its left/right label assumes a mirrored
selfie; so a hand belongs to the body wrist (of every person found) nearest its own wrist point,
within ``REACH`` hand sizes, each person's left and right wrist taking at most one hand, nearest
pairs first. That also says which hand it is: the one at the body's left wrist is the left hand.
A hand near no seen wrist is left out (a hand of someone not found, or a false detection).
Every point of a hand gets the hand's detection score as its confidence.
"""
from __future__ import annotations

import warnings
from typing import List, Optional, Sequence

import numpy as np

from translate.people.mediapipe_compat import import_mediapipe

from .everyone_found import everyone_found
from .skeletons import HAND_POINTS, WITH_HANDS, Pose

REACH = 1.0  # a hand's wrist may lie this many hand sizes from the body's wrist
SIDES = ("left", "right")


def attach_hands(poses: Sequence[Pose], hands: Sequence[np.ndarray]) -> List[Pose]:
    """``poses`` (a body skeleton of ``WITH_HANDS``) with ``hands`` (each ``21 x 3``: x, y in
    pixels, confidence) attached to their nearest wrists; hands that reach no wrist are dropped."""
    pairs = []
    for h, hand in enumerate(hands):
        size = max(float(np.ptp(hand[:, 0])), float(np.ptp(hand[:, 1])), 1.0)
        for p, pose in enumerate(poses):
            for side in SIDES:
                wrist = pose.joint(f"{side}_wrist")
                if wrist[2] <= 0:
                    continue
                distance = float(np.linalg.norm(hand[0, :2] - wrist[:2]))
                if distance <= REACH * size:
                    pairs.append((distance, h, p, side))
    given = {}
    used = set()
    for _, h, p, side in sorted(pairs):
        if h not in used and (p, side) not in given:
            given[(p, side)] = h
            used.add(h)
    out = []
    for p, pose in enumerate(poses):
        if pose.skeleton not in WITH_HANDS:
            raise ValueError(f"hands attach to {', '.join(WITH_HANDS)} poses, not {pose.skeleton}")
        parts = [pose.points]
        for side in SIDES:
            h = given.get((p, side))
            parts.append(np.asarray(hands[h], np.float32) if h is not None else np.zeros((HAND_POINTS, 3), np.float32))
        out.append(Pose(WITH_HANDS[pose.skeleton], np.concatenate(parts)))
    return out


class HandLandmarks:
    """``hands(rgb) -> [21 x 3 arrays]``: every hand of a frame in pixels, confidence = its score."""

    def __init__(self, video: bool = True, max_hands: int = 10, min_score: float = 0.5):
        mp = import_mediapipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # complexity 1: the full hand model (both ship in the wheel); video: hands followed between frames
            self._model = mp.solutions.hands.Hands(static_image_mode=not video, max_num_hands=max_hands,
                                                   model_complexity=1, min_detection_confidence=min_score,
                                                   min_tracking_confidence=min_score)

    def __call__(self, image: np.ndarray) -> List[np.ndarray]:
        h, w = image.shape[:2]
        result = self._model.process(np.ascontiguousarray(image))
        landmarks = result.multi_hand_landmarks or []
        scores = [c.classification[0].score for c in (result.multi_handedness or [])]
        return [np.array([[p.x * w, p.y * h, score] for p in hand.landmark], np.float32)
                for hand, score in zip(landmarks, scores)]

    def close(self) -> None:
        self._model.close()


class WithHands:
    """A pose backend whose people also get their hands (``attach_hands``), in its skeleton's
    ``*_hands`` form."""

    finds_everyone = True

    def __init__(self, backend, video: bool = True, finder: Optional[HandLandmarks] = None):
        if backend.skeleton not in WITH_HANDS:
            raise ValueError(f"hands attach to {', '.join(WITH_HANDS)} poses, not {backend.skeleton}")
        self.backend, self.skeleton = backend, WITH_HANDS[backend.skeleton]
        self.hands = finder if finder is not None else HandLandmarks(video)

    def estimate_all(self, image: np.ndarray) -> List[Pose]:
        poses = everyone_found(self.backend, image)
        return attach_hands(poses, self.hands(image)) if poses else []

    def estimate(self, image: np.ndarray) -> Optional[Pose]:
        found = self.estimate_all(image)
        return found[0] if found else None

    def close(self) -> None:
        self.backend.close()
        self.hands.close()
