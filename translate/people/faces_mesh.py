"""Face outlines from MediaPipe's face mesh (468 landmarks): a tighter mask than 6 keypoints.

The 6 BlazeFace keypoints only let ``faces_mask`` estimate chin and forehead; the mesh's
face-oval ring (36 points) follows the real jaw line and hairline. It runs on the
aligned crop, where the face is upright and large, so it is both cheap (one small
image) and reliable. When the mesh finds nothing, callers fall back to the hull mask.
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from translate.people.mediapipe_compat import import_mediapipe


class MeshOutline:
    """``outline(crop) -> N x 2`` face-oval points in crop pixels, or None when no face mesh is found."""

    def __init__(self, min_score: float = 0.5):
        mp = import_mediapipe()
        fm = mp.solutions.face_mesh
        with warnings.catch_warnings():  # MediaPipe's graph setup calls a protobuf API deprecated in 6.x
            warnings.simplefilter("ignore", DeprecationWarning)
            self._mesh = fm.FaceMesh(static_image_mode=True, max_num_faces=1, min_detection_confidence=min_score)
        self._oval = sorted({i for edge in fm.FACEMESH_FACE_OVAL for i in edge})

    def __call__(self, crop: np.ndarray) -> Optional[np.ndarray]:
        h, w = crop.shape[:2]
        found = self._mesh.process(np.ascontiguousarray(crop)).multi_face_landmarks
        if not found:
            return None
        points = found[0].landmark
        return np.array([[points[i].x * w, points[i].y * h] for i in self._oval], dtype=np.float64)

    def close(self) -> None:
        self._mesh.close()
