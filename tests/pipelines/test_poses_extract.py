"""MediaPipe pose estimation on a real photo and `translate poses extract` on a small clip."""
import cv2
import numpy as np
import skimage.data

from translate.cli import main
from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.openpose_json import read_keypoints
from pose_clips import astronaut_frames, write_clip


def test_mediapipe_finds_the_astronaut_and_nobody_in_an_empty_image():
    estimator = build_estimator("mediapipe", EstimatorOptions(video=False))
    try:
        pose = estimator.estimate(skimage.data.astronaut())
        empty = estimator.estimate(np.zeros((128, 128, 3), np.uint8))
    finally:
        estimator.close()
    assert pose is not None and pose.skeleton == "mediapipe33" and empty is None
    nose, left_shoulder, right_shoulder = pose.joint("nose"), pose.joint("left_shoulder"), pose.joint("right_shoulder")
    # The face is at about (177..272, 82..177) in the 512x512 photo (FACTS.md); shoulders lie below it.
    assert 177 < nose[0] < 272 and 82 < nose[1] < 177 and nose[2] > 0.9
    assert left_shoulder[1] > nose[1] and right_shoulder[1] > nose[1] and left_shoulder[0] > right_shoulder[0]


def test_extract_writes_pairs_keypoints_and_style_and_counts_frames_without_anyone(tmp_path):
    video = write_clip(tmp_path / "target.mp4", astronaut_frames(6, blank={3}))
    data = tmp_path / "dancer"
    assert main(["poses", "extract", str(video), str(data)]) == 0
    figures, frames = sorted((data / "train_A").glob("*.png")), sorted((data / "train_B").glob("*.png"))
    assert [p.name for p in figures] == [p.name for p in frames] == [f"target_{i:06d}.png" for i in range(6)]
    assert (data / "figure.json").is_file()
    kp = read_keypoints(data / "keypoints" / "target_000000_keypoints.json")
    assert kp.canvas_size == (64, 64) and kp.people[0].skeleton == "mediapipe33"
    assert read_keypoints(data / "keypoints" / "target_000003_keypoints.json").people == []
    figure = cv2.imread(str(figures[3]))
    assert figure.any()  # the frame without a person reuses the previous pose
    # A second extract must not overwrite the dataset.
    assert main(["poses", "extract", str(video), str(data)]) != 0


def test_extract_of_a_video_with_nobody_is_a_clear_error(tmp_path, capsys):
    video = write_clip(tmp_path / "empty.mp4", [np.zeros((64, 64, 3), np.uint8)] * 3, audio=False)
    assert main(["poses", "extract", str(video), str(tmp_path / "d")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert "no person found" in err[-1] and "empty.mp4" in err[-1]
    assert not (tmp_path / "d").exists()
