"""People pipelines say what to change when they find nothing, and keep the figure's shape."""
import numpy as np
import pytest

from translate.cli import main

pytest.importorskip("mediapipe")


def test_no_person_names_the_threshold_to_lower(tmp_path, capsys):
    from test_poses_extract import write_clip

    video = write_clip(tmp_path / "empty.mp4", [np.zeros((64, 64, 3), np.uint8)] * 2, audio=False)
    assert main(["poses", "extract", str(video), str(tmp_path / "d"), "--detection-confidence", "0.6"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert "at --detection-confidence 0.6" in err[-1] and "try --detection-confidence 0.3" in err[-1]
