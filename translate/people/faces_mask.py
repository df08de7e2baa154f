"""Soft face masks: the hull of the face outline, feathered; or the whole head, less what covers it.

Sources of the region (``MASKERS``): ``hull`` uses the detector's 6 landmarks with
estimated chin and forehead points (below); ``mesh`` uses MediaPipe's face-mesh oval on
the aligned crop (``faces_mesh``), which follows the real jaw and hairline, and falls
back to ``hull`` when the mesh finds no face. ``head`` adds hair, forehead and ears: the
selfie segmenter's person pixels inside a head region grown from the landmarks
(``head_outline``), less any hand MediaPipe Hands finds (``faces_segment``). Why the
head: people with different hair leave a seam at the forehead when only the face oval is
swapped; why less the hands: a hand in front of the face would be painted over.

BlazeFace gives six keypoints (eyes, nose, mouth, ears). Their hull leaves out the
forehead and chin, so the outline adds two points estimated from the face's own
axis (eye centre -> mouth): the chin one axis-length below the mouth's projection,
scaled by ``chin``, and the forehead above the eyes by ``forehead``. The mask is the
filled hull, blurred so its edge fades over ``feather`` of the face size: the same
mask weights training's reconstruction and is the alpha of the swap blend.
"""
from __future__ import annotations

import cv2
import numpy as np

from translate.errors import InvalidSettingError


def face_outline(landmarks: np.ndarray, chin: float = 0.85, forehead: float = 0.9) -> np.ndarray:
    """Polygon points (N x 2) around the face from the 6 landmarks of ``faces_detect.LANDMARKS``."""
    pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
    eyes_mid = pts[:2].mean(axis=0)
    axis = pts[3] - eyes_mid  # eyes -> mouth, points "down" the face whatever its roll
    side = pts[4:6] if len(pts) >= 6 else pts[:2]
    extra = [pts[3] + axis * chin, eyes_mid - axis * forehead]
    # Jaw corners: the ears moved down by half the axis keep the cheeks in the hull.
    extra += [p + axis * 0.6 for p in side]
    extra += [p - axis * 0.5 for p in side]
    return np.vstack([pts, np.array(extra)])


def head_outline(landmarks: np.ndarray, top: float = 2.6, ears: float = 0.7) -> np.ndarray:
    """Polygon around the whole head from the 6 landmarks: the face outline with the forehead point
    raised to ``top`` eye-mouth lengths above the eyes (the hair) and the ear points pushed out by
    ``ears`` of that length (ears, hair at the sides). The chin stays the face's: no neck."""
    pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
    eyes_mid = pts[:2].mean(axis=0)
    axis = pts[3] - eyes_mid
    length = float(np.linalg.norm(axis)) or 1.0
    side = pts[4:6] if len(pts) >= 6 else pts[:2]
    out = [(p - eyes_mid) / max(float(np.linalg.norm(p - eyes_mid)), 1e-6) * ears * length for p in side]
    extra = [s + o for s, o in zip(side, out)]
    extra += [s + o - axis * 1.6 for s, o in zip(side, out)]  # the crown's sides, above the ears
    extra += [eyes_mid - axis * top]
    return np.vstack([face_outline(pts), np.array(extra)])


def face_mask(landmarks: np.ndarray, size: int | tuple, feather: float = 0.08, erode: float = 0.0) -> np.ndarray:
    """float32 mask in [0, 1] of shape ``size`` ((h, w) or an int for a square) from the 6 landmarks.

    ``erode`` shrinks the hull before feathering (both as fractions of the face's size),
    so a blend fades out inside the face outline rather than on top of it.
    """
    return outline_mask(face_outline(landmarks), size, feather, erode)


def outline_mask(outline: np.ndarray, size: int | tuple, feather: float = 0.08, erode: float = 0.0) -> np.ndarray:
    """The filled convex hull of ``outline`` (N x 2 pixels), eroded and feathered; see ``face_mask``."""
    h, w = (size, size) if isinstance(size, int) else size
    hull = cv2.convexHull(outline.astype(np.float32)).reshape(-1, 2)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(hull * 16).astype(np.int32), 255, lineType=cv2.LINE_AA, shift=4)
    face = float(np.ptp(hull, axis=0).max())
    if erode > 0:
        k = max(1, int(round(erode * face)))
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    out = mask.astype(np.float32) / 255.0
    if feather > 0:
        sigma = max(0.5, feather * face / 2.0)
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return np.clip(out, 0.0, 1.0)


def mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    return np.round(np.clip(mask, 0, 1) * 255).astype(np.uint8)


class HullMasker:
    """Masks from the detector's 6 landmarks alone (no extra model)."""

    def __call__(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return face_mask(landmarks, crop.shape[:2])

    def close(self) -> None:
        pass


class MeshMasker:
    """Masks from MediaPipe's face-mesh oval on the crop; the landmark hull where the mesh finds no face."""

    def __init__(self):
        from translate.people.faces_mesh import MeshOutline  # MediaPipe only when asked for

        self.outline = MeshOutline()
        self.fallbacks = 0  # crops masked by the hull instead

    def __call__(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        outline = self.outline(crop)
        if outline is None:
            self.fallbacks += 1
            return face_mask(landmarks, crop.shape[:2])
        return outline_mask(outline, crop.shape[:2])

    def close(self) -> None:
        self.outline.close()


class HeadMasker:
    """Masks of the head (hair, forehead, ears): person pixels inside ``head_outline``, with the
    face's own hull always in, less the hands found on the crop (a little widened)."""

    def __init__(self):
        from translate.people.faces_segment import HandFinder, PersonSegmenter  # MediaPipe only when asked for

        self.segment = PersonSegmenter()
        self.hands = HandFinder()
        self.hands_found = 0  # crops where a hand was cut out

    def __call__(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        size = crop.shape[:2]
        region = outline_mask(head_outline(landmarks), size, feather=0.0)
        head = np.maximum(self.segment(crop) * region, outline_mask(face_outline(landmarks), size, feather=0.0))
        hands = self.hands(crop)
        if hands:
            self.hands_found += 1
            cover = np.zeros(size, np.uint8)
            for hull in hands:
                cv2.fillConvexPoly(cover, np.round(hull).astype(np.int32), 255)
            k = max(1, int(round(0.03 * max(size))))
            cover = cv2.dilate(cover, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
            head = head * (1.0 - cover.astype(np.float32) / 255.0)
        sigma = max(0.5, 0.04 * float(np.ptp(face_outline(landmarks), axis=0).max()))
        return np.clip(cv2.GaussianBlur(head.astype(np.float32), (0, 0), sigma), 0.0, 1.0)

    def close(self) -> None:
        self.segment.close()
        self.hands.close()


MASKERS = {"hull": HullMasker, "mesh": MeshMasker, "head": HeadMasker}


def build_masker(name: str = "mesh"):
    try:
        return MASKERS[name]()
    except KeyError:
        raise InvalidSettingError(f"unknown mask kind {name!r}; choose {', '.join(MASKERS)}") from None
