"""MediaPipe pose estimation on a real photo and `translate poses extract` on a small clip."""
import json

import cv2
import numpy as np
import skimage.data

from translate.cli import main
from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.nobody import Nobody
from translate.people.poses.openpose_json import read_keypoints
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.skeletons import convert, skeleton
from translate.pipelines.pose_dataset import ExtractOptions, extract_dataset
from pose_clips import astronaut_frames, two_astronauts, write_clip

BELOW_THE_HIPS = {"right_knee", "left_knee", "right_ankle", "left_ankle"}


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


def test_the_astronaut_seen_from_the_waist_up_gets_a_waist_up_figure():
    # She is photographed to the chest: MediaPipe still places hips, knees and ankles (below the
    # frame) and her left arm (behind the helmet she holds), with low visibility.
    estimator = build_estimator("mediapipe", EstimatorOptions(video=False))
    try:
        pose = convert(estimator.estimate(skimage.data.astronaut()), "coco18")
    finally:
        estimator.close()
    style = FigureStyle(mode="labels")
    figure = render_pose(pose, (512, 512), style)
    drawn = {j for i, limb in enumerate(skeleton("coco18").limbs) if figure[..., i].any() for j in limb}
    assert {"nose", "neck", "right_shoulder", "left_shoulder"} <= drawn
    assert not drawn & BELOW_THE_HIPS and "left_elbow" not in drawn
    assert all(tuple(pose.joint(j)) == (0, 0, 0) for j in BELOW_THE_HIPS)  # left out, not just undrawn


def test_extract_writes_pairs_keypoints_and_style_and_reports_frames_without_anyone(tmp_path, capsys):
    video = write_clip(tmp_path / "target.mp4", astronaut_frames(6, blank={3}))
    data = tmp_path / "dancer"
    assert main(["poses", "extract", str(video), str(data)]) == 0
    assert "1 of 6 frames had nobody: 3 (their figures are empty)" in capsys.readouterr().err
    figures, frames = sorted((data / "train_A").glob("*.png")), sorted((data / "train_B").glob("*.png"))
    assert [p.name for p in figures] == [p.name for p in frames] == [f"target_{i:06d}.png" for i in range(6)]
    assert (data / "figure.json").is_file()
    assert json.loads((data / "figure.json").read_text())["min_visibility"] == 0.5
    kp = read_keypoints(data / "keypoints" / "target_000000_keypoints.json")
    assert kp.canvas_size == (64, 64) and kp.people[0].skeleton == "mediapipe33"
    confidence = kp.people[0].points[:, 2]
    assert ((confidence >= 0.5) | (kp.people[0].points == 0).all(1)).all()  # seen, or written as 0, 0, 0
    assert all(kp.people[0].joint(j)[2] == 0 for j in BELOW_THE_HIPS)
    assert read_keypoints(data / "keypoints" / "target_000003_keypoints.json").people == []
    assert not cv2.imread(str(figures[3])).any()  # nobody there: an empty figure, not the previous pose
    assert cv2.imread(str(figures[2])).any() and cv2.imread(str(figures[4])).any()
    # A second extract must not overwrite the dataset.
    assert main(["poses", "extract", str(video), str(data)]) != 0


def test_extract_of_a_video_with_nobody_is_a_clear_error(tmp_path, capsys):
    video = write_clip(tmp_path / "empty.mp4", [np.zeros((64, 64, 3), np.uint8)] * 3, audio=False)
    assert main(["poses", "extract", str(video), str(tmp_path / "d")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert "no person found" in err[-1] and "empty.mp4" in err[-1]
    assert not (tmp_path / "d").exists()


def test_hold_last_gives_frames_with_nobody_the_last_pose_and_says_so(tmp_path):
    video = write_clip(tmp_path / "target.mp4", astronaut_frames(6, blank={3}), audio=False)
    report = extract_dataset(video, tmp_path / "held", ExtractOptions(hold_last=True, progress=False))
    assert report.nobody == Nobody((3,), 6, held=True) and report.no_person == 1
    assert "1 of 6 frames had nobody: 3 (their figures hold the last pose: --hold-last)" in report.summary()
    assert cv2.imread(str(tmp_path / "held" / "train_A" / "target_000003.png")).any()
    assert read_keypoints(tmp_path / "held" / "keypoints" / "target_000003_keypoints.json").people == []


def test_bad_visibility_thresholds_are_refused_before_anything_is_written(tmp_path, capsys):
    video = write_clip(tmp_path / "target.mp4", astronaut_frames(2), audio=False)
    for flags, says in ((["--min-visibility", "1.5"], "--min-visibility must be between 0 and 1"),
                        (["--min-visibility", "0.2"], "below the figure's --min-confidence 0.3")):
        assert main(["poses", "extract", str(video), str(tmp_path / "d"), *flags]) != 0
        assert says in capsys.readouterr().err.strip().splitlines()[-1]
        assert not (tmp_path / "d").exists()


def test_extract_writes_everyone_with_ids_and_makes_figures_of_the_person_asked_for(tmp_path, capsys):
    video = write_clip(tmp_path / "two.mp4", two_astronauts(4, blank_right={2}), audio=False)
    data = tmp_path / "right"
    assert main(["poses", "extract", str(video), str(data), "--person", "2"]) == 0
    err = capsys.readouterr().err
    assert "people: 2 (IDs 1, 2); chosen: ID 2, seen in 3 of 4 frames" in err and "people.png" in err
    assert "1 of 4 frames had nobody: 2" in err  # the chosen person was not there; the other one was
    kp = read_keypoints(data / "keypoints" / "two_000000_keypoints.json")
    assert kp.ids == [1, 2] and kp.people[0].joint("nose")[0] < 128 < kp.people[1].joint("nose")[0]
    assert read_keypoints(data / "keypoints" / "two_000002_keypoints.json").ids == [1]
    figure = cv2.imread(str(data / "train_A" / "two_000000.png"))
    assert figure[:, 128:].any() and not figure[:, :120].any()  # ID 2's figure only: the right-hand person
    preview = cv2.imread(str(data / "people.png"))
    assert preview.shape == (128, 256, 3)
    # An ID nobody had: one line naming the IDs there were, and no dataset left behind.
    assert main(["poses", "extract", str(video), str(tmp_path / "none"), "--person", "5"]) != 0
    assert "--person 5: no person had that ID (IDs seen: 1, 2)" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "none").exists()
    assert main(["poses", "extract", str(video), str(tmp_path / "bad"), "--person", "tallest"]) != 0
    assert "--person must be an ID" in capsys.readouterr().err
