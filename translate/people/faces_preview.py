"""Pictures that show what a face swap will do before it runs: who is who, and the swap region.

``draw_faces``: every face's box and ID on a frame, the chosen one(s) marked, so a user can pick
``--face 2`` knowing which face 2 is. ``draw_mask``: the swap region tinted over a frame, so the
difference between ``--mask mesh`` and ``--mask head`` (hair, ears, a hand left out) is visible.
"""
from __future__ import annotations

from typing import Collection, Sequence

import cv2
import numpy as np

from translate.people.faces_choose import Numbered
from translate.people.labels import draw_label

CHOSEN = (255, 220, 0)  # yellow: the face that is swapped
OTHER = (200, 200, 200)
REGION = np.array([255, 60, 60], np.float32)  # red tint of the mask preview


def draw_faces(image: np.ndarray, faces: Sequence[Numbered], chosen: Collection[int], why: str = "") -> np.ndarray:
    """``image`` (RGB uint8) darkened, with each face's box and 'ID n'; the chosen ones boxed in yellow."""
    out = (image.astype(np.float32) * 0.6).astype(np.uint8)
    scale = max(0.35, image.shape[0] / 720)
    for fid, face in faces:
        x, y, w, h = (int(round(v)) for v in face.box)
        colour = CHOSEN if fid in chosen else OTHER
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, max(1, int(round(scale * (3 if fid in chosen else 1)))))
        label = f"ID {fid}" + (f" (swapped{': ' + why if why else ''})" if fid in chosen else "")
        draw_label(out, label, x, y - 2, colour, scale)
    return out


def draw_mask(image: np.ndarray, mask: np.ndarray, strength: float = 0.55) -> np.ndarray:
    """``image`` with the float mask in [0, 1] (same height and width) tinted red where it swaps."""
    alpha = np.clip(mask, 0, 1)[..., None] * strength
    return np.round(image * (1 - alpha) + REGION * alpha).astype(np.uint8)
