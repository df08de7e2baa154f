"""Real photos of several people that registry packages ship, with the people in them marked by hand.

ultralytics' wheel carries two photos under ultralytics/assets/: zidane.jpg (1280x720, two men
side by side from the waist up) and bus.jpg (810x1080, four pedestrians; two show their faces,
one is cut by the left edge with their back turned, one by the right edge). The tests install
that wheel without its dependencies and only read these files: ultralytics is never imported
(``find_spec`` locates a package without running it). The boxes below are each person's
extent in pixels, drawn by hand from the photos.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import skimage.data

Box = Tuple[int, int, int, int]
PEOPLE: Dict[str, List[Box]] = {
    "zidane": [(180, 200, 940, 720), (750, 40, 1150, 720)],
    "bus": [(59, 397, 253, 894), (219, 405, 346, 861), (0, 557, 76, 869), (667, 388, 810, 877)],
    "astronaut_twice": [(0, 0, 512, 512), (512, 0, 1024, 512)],
    "astronaut": [(0, 0, 512, 512)],
}


def assets() -> Optional[Path]:
    spec = importlib.util.find_spec("ultralytics")
    return Path(list(spec.submodule_search_locations)[0]) / "assets" if spec else None


def photo(name: str) -> np.ndarray:
    """The photo ``name`` as RGB uint8 (a key of PEOPLE)."""
    if name == "astronaut":
        return skimage.data.astronaut()
    if name == "astronaut_twice":  # a composite: the astronaut and her mirror image, waist up side by side
        one = skimage.data.astronaut()
        return np.concatenate([one, one[:, ::-1]], 1)
    folder = assets()
    if folder is None:  # a missing photo fails the test, naming the fix: it is never skipped
        raise FileNotFoundError(f"{name}.jpg: ultralytics' photos are not installed; make install adds them "
                                f"(pip install --no-deps ultralytics==8.4.190, see the Makefile's TEST_MEDIA)")
    path = folder / f"{name}.jpg"
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"{path}: not readable")
    return np.ascontiguousarray(image[..., ::-1])


def matched(poses: Sequence, boxes: Sequence[Box]) -> Tuple[int, int]:
    """(people found, poses matching nobody): a pose is a person's when the middle of its joints
    found lies in that person's box; each person counts once."""
    found, extra = set(), 0
    for pose in poses:
        seen = pose.points[pose.points[:, 2] > 0, :2]
        x, y = np.median(seen, 0)
        owner = next((i for i, (x0, y0, x1, y1) in enumerate(boxes)
                      if i not in found and x0 <= x <= x1 and y0 <= y <= y1), None)
        if owner is None:
            extra += 1
        else:
            found.add(owner)
    return len(found), extra
