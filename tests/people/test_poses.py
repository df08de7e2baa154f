"""Skeleton adapter, OpenPose JSON, stick-figure renderer, smoothing and `translate poses render`."""
import json

import numpy as np
import pytest

from translate.cli import main
from translate.data import read_image
from translate.people.poses.openpose_json import PoseFrame, read_keypoints, write_keypoints
from translate.people.poses.render import FigureStyle, limb_colour, render_pose
from translate.people.poses.skeletons import SKELETONS, Pose, convert, skeleton
from translate.people.poses.smoothing import SmoothingOptions, smooth_points


def mediapipe_person(w=64, h=64, conf=0.9):
    """A standing person in MediaPipe-33 form, in pixels of a w x h frame."""
    at = {"nose": (0.5, 0.15), "left_eye": (0.53, 0.12), "right_eye": (0.47, 0.12), "left_ear": (0.56, 0.13),
          "right_ear": (0.44, 0.13), "left_shoulder": (0.62, 0.3), "right_shoulder": (0.38, 0.3),
          "left_elbow": (0.7, 0.45), "right_elbow": (0.3, 0.45), "left_wrist": (0.72, 0.6),
          "right_wrist": (0.28, 0.6), "left_hip": (0.57, 0.6), "right_hip": (0.43, 0.6), "left_knee": (0.58, 0.75),
          "right_knee": (0.42, 0.75), "left_ankle": (0.58, 0.9), "right_ankle": (0.42, 0.9),
          "left_heel": (0.57, 0.93), "right_heel": (0.43, 0.93), "left_foot_index": (0.62, 0.94),
          "right_foot_index": (0.38, 0.94)}
    s = skeleton("mediapipe33")
    points = np.zeros((33, 3), np.float32)
    for name, (x, y) in at.items():
        points[s.index[name]] = (x * w, y * h, conf)
    return Pose("mediapipe33", points)


def test_registry_lists_the_three_formats_with_their_sizes():
    assert set(SKELETONS.names()) >= {"mediapipe33", "body25", "coco18"}
    assert [len(skeleton(n).joints) for n in ("mediapipe33", "body25", "coco18")] == [33, 25, 18]


def test_adapter_derives_neck_and_mid_hip_and_keeps_named_joints():
    mp = mediapipe_person()
    coco = convert(mp, "coco18")
    np.testing.assert_allclose(coco.joint("neck")[:2], (mp.joint("left_shoulder")[:2] + mp.joint("right_shoulder")[:2]) / 2)
    np.testing.assert_array_equal(coco.joint("right_wrist"), mp.joint("right_wrist"))
    body = convert(mp, "body25")
    np.testing.assert_allclose(body.joint("mid_hip")[:2], (mp.joint("left_hip")[:2] + mp.joint("right_hip")[:2]) / 2)
    np.testing.assert_array_equal(body.joint("left_big_toe"), mp.joint("left_foot_index"))


def test_adapter_leaves_a_derived_joint_missing_when_a_part_is_missing():
    mp = mediapipe_person()
    mp.points[skeleton("mediapipe33").index["left_shoulder"]] = 0
    assert convert(mp, "coco18").joint("neck")[2] == 0


def test_figure_is_identical_whichever_format_the_keypoints_came_in():
    mp = mediapipe_person()
    direct = render_pose(mp, (64, 64))
    via_coco = render_pose(convert(mp, "coco18"), (64, 64))
    via_body = render_pose(convert(convert(mp, "body25"), "coco18"), (64, 64))
    assert direct.any()
    np.testing.assert_array_equal(direct, via_coco)
    np.testing.assert_array_equal(direct, via_body)


def test_openpose_json_round_trip_keeps_layout_and_confidence(tmp_path):
    body = convert(mediapipe_person(), "body25")
    body.points[3, 2] = 0.25
    path = tmp_path / "clip_000003_keypoints.json"
    write_keypoints(path, PoseFrame([body], (64, 48)))
    raw = json.loads(path.read_text())
    assert len(raw["people"][0]["pose_keypoints_2d"]) == 75 and raw["canvas_size"] == [64, 48]
    back = read_keypoints(path)
    assert back.canvas_size == (64, 48) and back.people[0].skeleton == "body25"
    np.testing.assert_allclose(back.people[0].points, body.points, atol=1e-3)


def test_bad_keypoint_file_names_the_file(tmp_path):
    path = tmp_path / "x_keypoints.json"
    path.write_text('{"people": [{"pose_keypoints_2d": [1, 2, 3, 4]}]}')
    with pytest.raises(ValueError, match="x_keypoints.json"):
        read_keypoints(path)
    path.write_text('{"people": [{"pose_keypoints_2d": [NaN, 2, 3]}]}')
    with pytest.raises(ValueError, match="finite"):
        read_keypoints(path)


def test_renderer_draws_each_limb_in_its_colour_where_it_is():
    pose = Pose("coco18", np.zeros((18, 3)))
    s = skeleton("coco18")
    pose.points[s.index["right_hip"]] = (10, 10, 1)
    pose.points[s.index["right_knee"]] = (10, 50, 1)
    pose.points[s.index["left_hip"]] = (50, 10, 1)
    pose.points[s.index["left_knee"]] = (50, 50, 1)
    figure = render_pose(pose, (64, 64), FigureStyle(thickness=3))
    assert figure.shape == (64, 64, 3)
    assert tuple(figure[30, 10]) == limb_colour("right_hip", "right_knee")
    assert tuple(figure[30, 50]) == limb_colour("left_hip", "left_knee")
    assert limb_colour("right_hip", "right_knee") != limb_colour("left_hip", "left_knee")
    assert not figure[30, 30].any() and not figure[60, 10].any()


def test_low_confidence_joints_are_not_drawn():
    mp = mediapipe_person()
    full = render_pose(mp, (64, 64))
    mp.points[skeleton("mediapipe33").index["left_wrist"], 2] = 0.1
    without = render_pose(mp, (64, 64), FigureStyle(min_confidence=0.3))
    forearm = np.all(full == limb_colour("left_elbow", "left_wrist"), axis=-1)
    assert forearm.any() and not np.all(without == limb_colour("left_elbow", "left_wrist"), axis=-1).any()


def test_label_mode_has_one_channel_per_limb():
    figure = render_pose(mediapipe_person(), (64, 64), FigureStyle(mode="labels"))
    limbs = skeleton("coco18").limbs
    assert figure.shape == (64, 64, len(limbs))
    assert figure[..., limbs.index(("left_elbow", "left_wrist"))].max() == 255


def test_median_smoothing_reduces_jitter_and_ignores_missing_joints():
    rng = np.random.default_rng(0)
    truth = np.array([[20.0, 30.0]])
    frames = np.zeros((40, 1, 3), np.float32)
    frames[:, 0, :2] = truth + rng.normal(0, 2, (40, 2))
    frames[:, 0, 2] = 0.9
    frames[7] = 0  # a dropped detection
    out = smooth_points(frames, SmoothingOptions(window=5))
    keep = [t for t in range(40) if t != 7]
    assert np.std(out[keep, 0, :2] - truth) < 0.7 * np.std(frames[keep, 0, :2] - truth)
    assert out[7, 0, 2] > 0 and np.abs(out[7, 0, :2] - truth).max() < 5  # filled from its neighbours


def test_poses_render_cli_draws_openpose_files_and_reports_bad_ones(tmp_path):
    keypoints, figures = tmp_path / "kp", tmp_path / "fig"
    keypoints.mkdir()
    for i in range(3):  # OpenPose's own files have no canvas size
        body = convert(mediapipe_person(), "body25")
        (keypoints / f"v_{i:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": body.points.reshape(-1).tolist()}]}))
    assert main(["poses", "render", str(keypoints), str(figures), "--size", "64x64"]) == 0
    first = read_image(figures / "v_000000000000.png")
    np.testing.assert_array_equal(first, render_pose(mediapipe_person(), (64, 64)))
    (keypoints / "w_keypoints.json").write_text("not json")
    assert main(["poses", "render", str(keypoints), str(tmp_path / "fig2"), "--size", "64x64"]) == 1
    assert len(list((tmp_path / "fig2").glob("*.png"))) == 3
    (keypoints / "w_keypoints.json").unlink()
    assert main(["poses", "render", str(keypoints), str(tmp_path / "lab"), "--size", "64x64", "--figure-mode",
                 "labels"]) == 0
    labels = np.load(tmp_path / "lab" / "v_000000000000.npy")
    assert labels.shape == (64, 64, 17) and labels.max() == 255
