"""Only what is seen is drawn: the threshold that decides which joints of a pose were seen.

A pose estimator places every joint of its skeleton, seen or not: MediaPipe puts the legs of a
person filmed from the waist up below the frame, or over the jacket, and says so only through
each landmark's ``visibility``. A figure drawn from such guesses teaches the pose2frame
generator to paint legs where the frame shows none, so a joint whose confidence is below the
threshold is made missing (0, 0, 0, as OpenPose writes a joint it did not find) as soon as the
estimator returns it: it is then not drawn, not smoothed, not counted in the framing
statistics and written with confidence 0 in the keypoint files.

``DEFAULT_MIN_VISIBILITY`` is 0.5, the threshold MediaPipe's own ``drawing_utils`` uses for the
same decision (``_VISIBILITY_THRESHOLD``). Measured on ``skimage.data.astronaut()`` (a waist-up
photo) at 64, 128, 256 and 512 px: her face and shoulders score >= 0.99 and her right elbow
0.76-0.91; hips, knees and ankles, below the frame, score <= 0.26; her left elbow, hidden behind
the helmet she holds, 0.28-0.36, so the figure's former 0.3 drew it at three of the four sizes
and 0.5 draws it at none. The price: her right wrist, at the bottom edge, scores 0.20-0.84 and
is left out at three sizes (the old 0.3 left it out at one).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from translate.errors import InvalidSettingError

from .skeletons import Pose

DEFAULT_MIN_VISIBILITY = 0.5


def check_threshold(value: float, name: str) -> float:
    """``value`` as a float if it is a confidence (0..1); else a one-line error naming ``name``."""
    value = float(value)
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise InvalidSettingError(f"{name} must be between 0 and 1 (a joint's confidence), got {value:g}")
    return value


def is_seen(confidence, threshold: float):
    """Whether a confidence (a number or an array of them) counts as seen: at least ``threshold``
    and above 0, so a threshold of 0 still leaves out joints that are missing altogether."""
    confidence = np.asarray(confidence)
    return (confidence > 0) & (confidence >= threshold)


def drop_unseen(pose: Optional[Pose], min_visibility: float) -> Optional[Pose]:
    """``pose`` with every joint below ``min_visibility`` made missing (0, 0, 0); None when no
    joint is left, since a figure with nothing seen is a frame with nobody in it."""
    if pose is None:
        return None
    seen = is_seen(pose.points[:, 2], min_visibility)
    if not seen.any():
        return None
    out = pose.copy()
    out.points[~seen] = 0
    return out


def check_against_figure(min_visibility: float, min_confidence: float) -> None:
    """Refuse a visibility threshold below the figure's: joints between the two would be kept in
    the keypoint files but never drawn, so the lower setting would look applied and not be."""
    if min_visibility < min_confidence:
        raise InvalidSettingError(f"--min-visibility {min_visibility:g} is below the figure's --min-confidence "
                         f"{min_confidence:g}: joints between them would be kept but never drawn; lower "
                         f"--min-confidence to {min_visibility:g} too")
