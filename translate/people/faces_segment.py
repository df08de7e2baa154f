"""What is person and what covers the face, from MediaPipe models in the 0.10.14 wheel (offline).

``PersonSegmenter``: the selfie segmenter's person probability per pixel; it follows hair, ears
and the hairline, which no face-landmark outline reaches. ``HandFinder``: the convex hulls of the
hands MediaPipe Hands finds, so a hand in front of the face can be left out of a swap region
rather than painted over. Both run on the aligned face crop (small and upright).
"""
from __future__ import annotations

import warnings
from typing import List

import cv2
import numpy as np

from translate.people.mediapipe_compat import import_mediapipe


class PersonSegmenter:
    """``segment(rgb) -> float32 HxW`` person probability in [0, 1]."""

    def __init__(self, model_selection: int = 0):  # 0: the general (square 256x256) model, for crops
        mp = import_mediapipe()
        with warnings.catch_warnings():  # MediaPipe's graph setup calls a protobuf API deprecated in 6.x
            warnings.simplefilter("ignore", DeprecationWarning)
            self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        found = self._model.process(np.ascontiguousarray(image)).segmentation_mask
        if found is None:
            return np.zeros(image.shape[:2], np.float32)
        return np.clip(np.asarray(found, np.float32), 0.0, 1.0)

    def close(self) -> None:
        self._model.close()


class HandFinder:
    """``hands(rgb) -> [N x 2 hull points in pixels]``, one per hand found (none: an empty list)."""

    def __init__(self, min_score: float = 0.5):
        mp = import_mediapipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # static: crops of a clip are independent pictures; complexity 0: the lite model, enough
            # for a hull and both lite and full ship in the wheel.
            self._model = mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=0,
                                                   min_detection_confidence=min_score)

    def __call__(self, image: np.ndarray) -> List[np.ndarray]:
        h, w = image.shape[:2]
        found = self._model.process(np.ascontiguousarray(image)).multi_hand_landmarks or []
        hulls = []
        for hand in found:
            points = np.array([[p.x * w, p.y * h] for p in hand.landmark], np.float32)
            hulls.append(cv2.convexHull(points).reshape(-1, 2))
        return hulls

    def close(self) -> None:
        self._model.close()
