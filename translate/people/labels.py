"""A text label in a black box, kept inside the picture: the IDs of the people and faces previews."""
from __future__ import annotations

import cv2
import numpy as np


def draw_label(canvas: np.ndarray, text: str, x: int, y: int, colour, scale: float) -> None:
    """``text`` with its baseline box ending at (``x``, ``y``), moved inside ``canvas`` where it would
    leave it (a person at the frame's edge still gets a readable ID)."""
    thickness = max(1, int(round(scale * 2)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = int(np.clip(x, 0, max(0, canvas.shape[1] - w - 2)))
    y = int(np.clip(y, h + base + 2, canvas.shape[0] - 1))
    cv2.rectangle(canvas, (x, y - h - base - 2), (x + w + 2, y), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x + 1, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)
