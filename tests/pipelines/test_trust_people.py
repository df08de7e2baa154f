"""People pipelines say what to change when they find nothing, and keep the figure's shape."""
import numpy as np

from translate.cli import main




def test_no_person_names_the_threshold_to_lower(tmp_path, capsys):
    import mediapipe  # noqa: F401  (make test installs the people extra; missing must fail, not skip)
    from pose_clips import write_clip

    video = write_clip(tmp_path / "empty.mp4", [np.zeros((64, 64, 3), np.uint8)] * 2, audio=False)
    assert main(["poses", "extract", str(video), str(tmp_path / "d"), "--detection-confidence", "0.6"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert "at --detection-confidence 0.6" in err[-1] and "try --detection-confidence 0.3" in err[-1]


def test_dance_without_normalisation_keeps_the_figure_aspect():
    from translate.people.poses.skeletons import Pose
    from translate.pipelines.dance import _scaler

    points = np.zeros((33, 3), np.float32)
    points[0] = (0, 0, 1)
    points[1] = (200, 100, 1)  # the source frame's corners: 200x100
    to_canvas = _scaler((200, 100), (64, 64), None, None)  # a square target canvas
    out = to_canvas(Pose("mediapipe33", points)).points
    assert tuple(out[0, :2]) == (0, 16) and tuple(out[1, :2]) == (64, 48)  # letterboxed, not stretched


def test_the_side_by_side_source_panel_keeps_its_aspect():
    from translate.pipelines.dance import letterbox

    source = np.full((100, 200, 3), 255, np.uint8)  # 200x100, white
    shown = letterbox(source, (64, 64))
    assert shown.shape == (64, 64, 3)
    rows = np.where(shown[:, 32, 0] > 0)[0]
    assert (rows.min(), rows.max()) == (16, 47) and shown[:, :, 0].min() == 0  # 64x32, centred on black
