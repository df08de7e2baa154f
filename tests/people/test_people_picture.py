"""tools/bench_people.py --picture: the README's picture of two people tracked through a crossing."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import bench_people  # noqa: E402
from translate.data import read_image  # noqa: E402
from translate.people.poses.preview import CHOSEN  # noqa: E402


def _chosen_columns(row: np.ndarray) -> np.ndarray:
    """Columns of ``row`` holding the chosen person's yellow box or label."""
    yellow = np.all(np.abs(row.astype(int) - np.array(CHOSEN)) < 30, axis=-1)
    return np.nonzero(yellow.any(axis=0))[0]


def test_picture_shows_the_dancer_keeping_her_id_across_the_crossing(tmp_path):
    size = 128
    out = bench_people.tracked_picture(tmp_path / "people.png", size=size, frames=12, shown=(0, 11))
    picture = read_image(out)
    assert picture.shape == (2 * size + 4, 3 * size, 3)  # two frames of the 3:1 clip, a white gap between
    first, last = picture[:size], picture[size + 4:]
    start, end = _chosen_columns(first), _chosen_columns(last)
    assert start.size and end.size  # the dancer is marked in both frames
    # She walks from the left third to the right third: her ID (and so the mark) went with her.
    assert np.median(start) < size * 1.5 < np.median(end)
