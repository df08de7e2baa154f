"""Everyone a pose backend found, whichever question it answers: the one helper its wrappers share.

A backend declares ``finds_everyone``: those answer ``estimate_all`` with every person, the
others answer ``estimate`` with one person or None. The wrappers that add to each person (hands,
face) or leave out what is not seen ask through here, so none decides it on its own.
"""
from __future__ import annotations

from typing import List

import numpy as np

from .skeletons import Pose


def everyone_found(backend, image: np.ndarray) -> List[Pose]:
    """``backend``'s people in ``image``: all of them, or its one person (none when it found nobody)."""
    if backend.finds_everyone:
        return list(backend.estimate_all(image))
    one = backend.estimate(image)
    return [] if one is None else [one]
