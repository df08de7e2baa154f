"""The people of a frame drawn over it, each with their ID, the chosen one marked: who is who.

A user choosing ``--person 2`` needs to see which person is 2, and a run that chose by a rule
should show whom it chose. Everyone's skeleton is drawn on the frame with the figures' limb
colours; the others are dimmed, and the chosen person gets a box and a label saying why.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from translate.people.labels import draw_label

from .choose import Person, pose_box
from .render import FigureStyle, render_pose

CHOSEN = (255, 220, 0)  # yellow box and label: the person whose figures are made
OTHER = (200, 200, 200)


def draw_people(image: np.ndarray, people: Sequence[Person], chosen: Optional[int] = None, why: str = "",
                style: FigureStyle = FigureStyle()) -> np.ndarray:
    """``image`` (RGB uint8) with every person's skeleton and ID; ``chosen`` marked, ``why`` in its label."""
    h, w = image.shape[:2]
    out = (image.astype(np.float32) * 0.6).astype(np.uint8)  # darker, so skeletons and labels stand out
    scale = max(0.4, h / 720)
    for pid, pose in people:
        figure = render_pose(pose, (w, h), style)
        drawn = figure.max(-1) > 0
        out[drawn] = figure[drawn] if pid == chosen else (figure[drawn] * 0.5).astype(np.uint8)
        box = pose_box(pose)
        if box is None:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        colour = CHOSEN if pid == chosen else OTHER
        if pid == chosen:
            cv2.rectangle(out, (x0, y0), (x1, y1), CHOSEN, max(1, int(round(scale * 2))))
        label = f"ID {pid}" + (f" (chosen{': ' + why if why else ''})" if pid == chosen else "")
        draw_label(out, label, x0, y0 - 2, colour, scale)
    return out
