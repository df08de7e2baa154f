"""Pose estimators behind one small interface, and the MediaPipe backend.

An estimator takes an RGB uint8 frame and returns the main person's ``Pose`` in its own
skeleton, or None when nobody is there. Backends register in ``POSE_ESTIMATORS``; the
default, MediaPipe Pose 0.10.14, ships its model in the wheel and runs offline. Only its
``model_complexity=1`` model is bundled (0 and 2 try to download), so that is fixed here.
MediaPipe's landmark ``visibility`` is the confidence: it is low for joints outside the
frame or hidden. Its legacy Pose graph leaves ``presence`` unset (``HasField`` is False in
0.10.14), so presence is used only where a landmark carries it.

``build_estimator`` wraps every backend so that joints below ``min_visibility`` come back
missing (see ``seen.py``): the threshold is applied in this one place, whichever backend runs.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from translate.registry import Registry

from .seen import DEFAULT_MIN_VISIBILITY, check_threshold, drop_unseen
from .skeletons import Pose

POSE_ESTIMATORS = Registry("pose estimator")


@dataclass(frozen=True)
class EstimatorOptions:
    video: bool = True  # track between frames (faster, steadier); False treats every frame alone
    detection_confidence: float = 0.5
    tracking_confidence: float = 0.5
    min_visibility: float = DEFAULT_MIN_VISIBILITY  # joints below it are not seen (seen.py says why 0.5)

    def __post_init__(self):
        check_threshold(self.min_visibility, "--min-visibility")


class PoseEstimator(Protocol):
    skeleton: str

    def estimate(self, image: np.ndarray) -> Optional[Pose]: ...

    def close(self) -> None: ...


@POSE_ESTIMATORS.register("mediapipe")
class MediaPipePose:
    """MediaPipe Pose (33 landmarks, model bundled in the 0.10.14 wheel, runs offline)."""

    skeleton = "mediapipe33"

    def __init__(self, options: EstimatorOptions = EstimatorOptions()):
        from translate.people.mediapipe_compat import import_mediapipe

        mp = import_mediapipe()
        with warnings.catch_warnings():  # its graph setup uses a protobuf call protobuf 6 deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            self._pose = self._build(mp, options)

    @staticmethod
    def _build(mp, options: EstimatorOptions):
        return mp.solutions.pose.Pose(static_image_mode=not options.video, model_complexity=1,
                                            min_detection_confidence=options.detection_confidence,
                                            min_tracking_confidence=options.tracking_confidence)

    def estimate(self, image: np.ndarray) -> Optional[Pose]:
        image = np.ascontiguousarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"pose estimation needs an RGB uint8 image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        found = self._pose.process(image).pose_landmarks
        if found is None:
            return None
        points = np.array([(lm.x * w, lm.y * h, _confidence(lm)) for lm in found.landmark], np.float32)
        return Pose(self.skeleton, points)

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "MediaPipePose":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _confidence(landmark) -> float:
    if landmark.HasField("presence"):  # a joint must be both in the picture and unhidden
        return min(landmark.visibility, landmark.presence)
    return landmark.visibility


class SeenOnly:
    """A backend whose poses keep only the joints seen (``seen.drop_unseen``)."""

    def __init__(self, backend: PoseEstimator, min_visibility: float):
        self.backend, self.min_visibility = backend, min_visibility
        self.skeleton = backend.skeleton

    def estimate(self, image: np.ndarray) -> Optional[Pose]:
        return drop_unseen(self.backend.estimate(image), self.min_visibility)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "SeenOnly":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def build_estimator(name: str = "mediapipe", options: EstimatorOptions = EstimatorOptions()) -> PoseEstimator:
    """The backend ``name``, returning only the joints seen at ``options.min_visibility``."""
    return SeenOnly(POSE_ESTIMATORS.build(name, options=options), options.min_visibility)
