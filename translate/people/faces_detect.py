"""Finding faces: a small ``FaceDetector`` interface and its MediaPipe backend.

Why an interface: the rest of the face tools (alignment, tracking, masks, swap) only
need a box, a score and a few named landmarks per face, so another detector (a Haar
cascade, a bigger network) can be added by registering one class in ``DETECTORS``.

Landmarks are in image pixels, ordered as ``LANDMARKS``. The eyes are named by where
they appear in the image (``eye_left`` has the smaller x for an upright face), not by
anatomy, because that is what alignment needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Protocol

import numpy as np

from translate.errors import InvalidSettingError
from translate.people.mediapipe_compat import import_mediapipe

LANDMARKS = ("eye_left", "eye_right", "nose", "mouth", "ear_left", "ear_right")


@dataclass
class Face:
    """One detected face. ``box`` is (x, y, w, h) in pixels; ``landmarks`` is 6x2 (x, y) per ``LANDMARKS``."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    @property
    def eyes(self) -> np.ndarray:
        return self.landmarks[:2]

    @property
    def size(self) -> float:
        """Face scale in pixels: the larger side of the box."""
        return float(max(self.box[2], self.box[3]))

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.box[0] + self.box[2] / 2, self.box[1] + self.box[3] / 2])


class FaceDetector(Protocol):
    def __call__(self, image: np.ndarray) -> List[Face]:
        """All faces in an RGB uint8 HxWx3 image, largest first."""

    def close(self) -> None: ...


class MediaPipeFaceDetector:
    """MediaPipe's BlazeFace (bundled in the 0.10.14 wheel, runs offline): box, score, 6 keypoints.

    ``model_selection=1`` is the full-range model (faces up to ~5 m away, i.e. small in the
    frame); 0 is the short-range one, tuned for faces filling much of the image.
    """

    def __init__(self, min_score: float = 0.5, model_selection: int = 1):
        mp = import_mediapipe()
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=min_score)

    def __call__(self, image: np.ndarray) -> List[Face]:
        h, w = image.shape[:2]
        found = self._detector.process(np.ascontiguousarray(image)).detections or []
        faces = []
        for det in found:
            data = det.location_data
            rel = data.relative_bounding_box
            box = np.array([rel.xmin * w, rel.ymin * h, rel.width * w, rel.height * h], dtype=np.float64)
            points = np.array([[k.x * w, k.y * h] for k in data.relative_keypoints[:6]], dtype=np.float64)
            # MediaPipe orders (subject's right eye, left eye, nose, mouth, right ear, left ear);
            # reorder each pair by image x so "left" means left in the picture.
            for a, b in ((0, 1), (4, 5)):
                if points[a, 0] > points[b, 0]:
                    points[[a, b]] = points[[b, a]]
            faces.append(Face(box, float(det.score[0]), points))
        return sorted(faces, key=lambda f: -f.size)

    def close(self) -> None:
        self._detector.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


DETECTORS: Dict[str, Callable[..., FaceDetector]] = {"mediapipe": MediaPipeFaceDetector}


def build_detector(name: str = "mediapipe", **kwargs) -> FaceDetector:
    try:
        return DETECTORS[name](**kwargs)
    except KeyError:
        raise InvalidSettingError(f"unknown face detector {name!r}; known: {', '.join(DETECTORS)}") from None
