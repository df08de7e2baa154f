"""Stick figures: one renderer for training pairs and for transfer, so their figures match.

A pose is first converted to the figure's skeleton (coco18 by default, body25 to show feet,
body25_hands with fingers, drawn at half the width, body25_hands_face also with the face's lines,
drawn at a quarter of the width), so keypoints from MediaPipe, BODY_25 or COCO-18 files give the
same picture. Each limb has one fixed colour, looked up by the names of its two joints in
``LIMB_COLOURS`` (shared by every figure skeleton, so a forearm is the same colour in a coco18 and
a body25 figure). The face is drawn white, as OpenPose draws it: its 63 lines in hues of their own
would crowd the palette until neighbouring hues looked alike (``face_crop`` finds the head by the
head limbs' hues), and white is far from every saturated hue. A limb is
drawn only when both its joints reach ``min_confidence`` (and are not missing): a guessed limb
teaches the generator a wrong body, and half a limb has no end to draw to. ``mode="labels"``
gives one 0/255 channel per limb instead of colours.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Optional, Tuple

import cv2
import numpy as np

from .seen import check_threshold, is_seen
from .skeletons import FACE_LIMBS, SKELETONS, Pose, convert, is_face_joint, is_hand_joint, skeleton

from translate.errors import InvalidSettingError


def _limb_key(a: str, b: str) -> FrozenSet[str]:
    return frozenset((a, b))


FACE_COLOUR = (255, 255, 255)  # OpenPose's face colour (face/faceParameters: FACE_COLORS_RENDER)


def _palette() -> Dict[FrozenSet[str], Tuple[int, int, int]]:
    """Evenly spaced saturated hues over every body and hand limb any skeleton draws, in registry
    order; the face's lines all white."""
    limbs = []
    for name in ("coco18", "body25", "mediapipe33", "body25_hands"):
        for a, b in skeleton(name).limbs:
            if _limb_key(a, b) not in limbs:
                limbs.append(_limb_key(a, b))
    colours = {}
    for i, key in enumerate(limbs):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 1.0, 1.0)  # golden-ratio steps: neighbours differ
        colours[key] = (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))
    colours.update({_limb_key(a, b): FACE_COLOUR for a, b in FACE_LIMBS})
    return colours


LIMB_COLOURS = _palette()


def limb_colour(a: str, b: str) -> Tuple[int, int, int]:
    return LIMB_COLOURS[_limb_key(a, b)]


@dataclass(frozen=True)
class FigureStyle:
    """How figures are drawn; saved with a dataset so transfer draws them the same way."""

    skeleton: str = "coco18"
    mode: str = "colour"  # colour (RGB figure) | labels (one channel per limb)
    min_confidence: float = 0.3
    thickness: Optional[int] = None  # None: about 1/64 of the frame height (at least 2 px)

    def __post_init__(self):
        SKELETONS.get(self.skeleton)  # unknown names fail here, with suggestions
        if self.mode not in RENDER_MODES:
            raise InvalidSettingError(f"unknown figure mode {self.mode!r}; choose one of {', '.join(sorted(RENDER_MODES))}")
        check_threshold(self.min_confidence, "--min-confidence")

    def line_width(self, height: int) -> int:
        return self.thickness if self.thickness else max(2, int(round(height / 64)))

    def channels(self) -> int:
        return 3 if self.mode == "colour" else len(skeleton(self.skeleton).limbs)


def _visible_limbs(pose: Optional[Pose], style: FigureStyle):
    if pose is None:
        return
    figure = convert(pose, style.skeleton)
    for a, b in skeleton(style.skeleton).limbs:
        pa, pb = figure.joint(a), figure.joint(b)
        if is_seen(pa[2], style.min_confidence) and is_seen(pb[2], style.min_confidence):
            yield a, b, (int(round(pa[0])), int(round(pa[1]))), (int(round(pb[0])), int(round(pb[1])))


def _draw(canvas: np.ndarray, p: Tuple[int, int], q: Tuple[int, int], width: int, colour) -> None:
    cv2.line(canvas, p, q, colour, width, cv2.LINE_8)
    for point in (p, q):  # round joints, so limbs meet without notches
        cv2.circle(canvas, point, max(1, width // 2), colour, -1, cv2.LINE_8)


def _width(a: str, width: int) -> int:
    """Fingers at half the limbs' width and the face at a quarter: at the body's width a hand is
    one blob, and a face (eyes and lips a few pixels apart in a whole-body frame) one smear."""
    if is_face_joint(a):
        return max(1, width // 4)
    return max(1, width // 2) if is_hand_joint(a) else width


def _render_colour(pose, size, style) -> np.ndarray:
    w, h = size
    canvas = np.zeros((h, w, 3), np.uint8)
    width = style.line_width(h)
    for a, b, p, q in _visible_limbs(pose, style):
        _draw(canvas, p, q, _width(a, width), limb_colour(a, b))
    return canvas


def _render_labels(pose, size, style) -> np.ndarray:
    w, h = size
    limbs = skeleton(style.skeleton).limbs
    index = {_limb_key(a, b): i for i, (a, b) in enumerate(limbs)}
    canvas = np.zeros((h, w, len(limbs)), np.uint8)
    width = style.line_width(h)
    for a, b, p, q in _visible_limbs(pose, style):
        channel = np.zeros((h, w), np.uint8)
        _draw(channel, p, q, _width(a, width), 255)
        canvas[..., index[_limb_key(a, b)]] = channel
    return canvas


RENDER_MODES: Dict[str, Callable[..., np.ndarray]] = {"colour": _render_colour, "labels": _render_labels}


def render_pose(pose: Optional[Pose], size: Tuple[int, int], style: FigureStyle = FigureStyle()) -> np.ndarray:
    """The figure of ``pose`` on black, (height, width, channels) uint8; ``size`` is (width, height).

    ``pose=None`` (nobody found) gives an empty canvas of the same shape.
    """
    w, h = int(size[0]), int(size[1])
    if w < 1 or h < 1:
        raise InvalidSettingError(f"figure size must be positive, got {w}x{h}")
    return RENDER_MODES[style.mode](pose, (w, h), style)
