"""Aligned face crops: a similarity transform that puts the eyes level at fixed places.

Why a similarity (rotation + uniform scale + shift) and not a full affine: it keeps the
face's proportions, so the network sees the same face shape it will paint back, and it
is exactly invertible. Two eye points fix all four degrees of freedom.

Geometry of a crop of ``size`` pixels: the eyes sit on the row ``eye_y * size``, centred,
``eye_distance * size / (1 + margin)`` apart. ``margin`` 0 is a tight face; 0.5 shows
half again as much around it (hair, neck), which helps blending.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

from translate.errors import InvalidSettingError


@dataclass(frozen=True)
class AlignSpec:
    size: int = 256  # crop side in pixels (the training size)
    margin: float = 0.3  # extra context around the face, as a fraction of the tight framing
    eye_y: float = 0.42  # eye row as a fraction of the crop height
    eye_distance: float = 0.36  # eye distance as a fraction of the crop width at margin 0

    def __post_init__(self) -> None:
        if self.size < 8:
            raise InvalidSettingError(f"crop size must be >= 8 pixels, got {self.size}")
        if self.margin < 0:
            raise InvalidSettingError(f"margin must be >= 0, got {self.margin}")

    def eye_targets(self) -> np.ndarray:
        """Where the (image-left, image-right) eyes land in the crop."""
        half = self.eye_distance * self.size / (1.0 + self.margin) / 2.0
        cx, cy = self.size / 2.0, self.eye_y * self.size
        return np.array([[cx - half, cy], [cx + half, cy]], dtype=np.float64)


def similarity_from_eyes(eyes: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The 2x3 similarity matrix mapping the two ``eyes`` onto the two ``targets`` exactly."""
    src, dst = np.asarray(eyes, np.float64), np.asarray(targets, np.float64)
    vs, vd = src[1] - src[0], dst[1] - dst[0]
    ns = float(np.hypot(*vs))
    if ns < 1e-6:
        raise ValueError("the two eyes coincide: cannot align")
    # As complex numbers: z -> q * z + t with q = vd / vs.
    q = complex(*vd) / complex(*vs)
    a, b = q.real, q.imag
    rot = np.array([[a, -b], [b, a]])
    t = dst[0] - rot @ src[0]
    return np.hstack([rot, t[:, None]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64).reshape(-1, 2)
    return points @ matrix[:, :2].T + matrix[:, 2]


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def align_face(image: np.ndarray, landmarks: np.ndarray, spec: AlignSpec) -> Tuple[np.ndarray, np.ndarray]:
    """(crop, matrix): the ``spec.size`` square crop and the 2x3 image->crop transform.

    Outside the frame the crop repeats the border (reflect), so faces at an edge still
    give the network a plausible, non-black context.
    """
    matrix = similarity_from_eyes(np.asarray(landmarks)[:2], spec.eye_targets())
    crop = cv2.warpAffine(image, matrix, (spec.size, spec.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT101)
    return crop, matrix


