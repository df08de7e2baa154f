"""Hands in the figure (--figure body25_hands): the hand skeleton, hands given to the right wrist,
OpenPose's separate hand lists, fingers drawn thinner, and extraction asking for hands only then."""
import json

import numpy as np
import pytest

from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.hands import WithHands, attach_hands
from translate.people.poses.openpose_json import PoseFrame, read_keypoints, write_keypoints
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.skeletons import HAND_POINTS, convert, has_hands, hand_joints, skeleton

from test_poses import mediapipe_person


def hand_at(x, y, size=8.0, score=0.9):
    """A flat hand whose wrist is at (x, y), fingers spread upwards over ``size`` pixels."""
    points = np.zeros((HAND_POINTS, 3), np.float32)
    points[0] = (x, y, score)
    for f in range(5):
        for k in range(1, 5):
            points[1 + 4 * f + k - 1] = (x + (f - 2) * size / 4, y - k * size / 4, score)
    return points


def test_hand_skeletons_have_21_points_and_20_bones_a_hand_in_openpose_order():
    body, hands = skeleton("body25"), skeleton("body25_hands")
    assert hands.joints[:25] == body.joints and len(hands.joints) == 25 + 42
    assert hand_joints("left")[:6] == ("left_hand_wrist", "left_hand_thumb1", "left_hand_thumb2", "left_hand_thumb3",
                                       "left_hand_thumb4", "left_hand_index1")
    assert len(hands.limbs) == len(body.limbs) + 40
    assert has_hands("body25_hands") and has_hands("mediapipe33_hands") and not has_hands("body25")
    with_hands = attach_hands([mediapipe_person()], [hand_at(46, 38)])[0]
    converted = convert(with_hands, "body25_hands")  # hands carried by name, like every joint
    np.testing.assert_array_equal(converted.joint("left_hand_index4"), with_hands.joint("left_hand_index4"))


def test_each_hand_goes_to_the_nearest_wrist_and_a_stray_hand_to_nobody():
    one, two = mediapipe_person(), mediapipe_person()
    two.points[:, 0] += 100  # a second person to the right
    # wrists: left (46, 38), right (18, 38) in a 64-px person; the second person's are +100 in x
    hands = [hand_at(118, 39), hand_at(47, 37), hand_at(300, 300), hand_at(145, 38)]
    first, second = attach_hands([one, two], hands)
    assert first.skeleton == "mediapipe33_hands"
    assert tuple(first.joint("left_hand_wrist")[:2]) == (47, 37)  # at her left wrist: her left hand
    assert first.joint("right_hand_wrist")[2] == 0  # no hand near her right wrist: missing
    assert tuple(second.joint("right_hand_wrist")[:2]) == (118, 39)
    assert tuple(second.joint("left_hand_wrist")[:2]) == (145, 38)
    np.testing.assert_array_equal(first.points[:33], one.points)  # the body is untouched
    # The far hand (300, 300) went nowhere; a wrist not seen takes no hand.
    one.points[skeleton("mediapipe33").index["left_wrist"]] = 0
    assert attach_hands([one], [hand_at(47, 37)])[0].joint("left_hand_wrist")[2] == 0


def test_openpose_files_keep_hands_in_their_own_lists(tmp_path):
    pose = convert(attach_hands([mediapipe_person()], [hand_at(46, 38)])[0], "body25_hands")
    path = tmp_path / "f_keypoints.json"
    write_keypoints(path, PoseFrame([pose], (64, 64), [3]))
    person = json.loads(path.read_text())["people"][0]
    assert len(person["pose_keypoints_2d"]) == 25 * 3
    assert len(person["hand_left_keypoints_2d"]) == 21 * 3 and person["hand_right_keypoints_2d"][2] == 0
    back = read_keypoints(path)
    assert back.people[0].skeleton == "body25_hands" and back.ids == [3]
    np.testing.assert_allclose(back.people[0].points, pose.points, atol=1e-3)
    # An OpenPose file with one hand list filled and one empty reads the same way.
    person["hand_right_keypoints_2d"] = []
    path.write_text(json.dumps({"people": [person]}))
    assert read_keypoints(path).people[0].joint("right_hand_wrist")[2] == 0
    person["hand_left_keypoints_2d"] = [1.0, 2.0]
    path.write_text(json.dumps({"people": [person]}))
    with pytest.raises(ValueError, match="f_keypoints.json: person 0: 'hand_left_keypoints_2d' must be"):
        read_keypoints(path)


def test_fingers_are_drawn_at_half_the_width_and_only_in_a_hands_figure():
    pose = attach_hands([mediapipe_person(128, 128)], [hand_at(92, 76, size=24)])[0]
    body = render_pose(pose, (128, 128), FigureStyle("body25"))
    hands = render_pose(pose, (128, 128), FigureStyle("body25_hands"))
    extra = hands.any(-1) & ~body.any(-1)
    assert extra.sum() > 20  # the fingers
    ys, xs = np.nonzero(extra)
    assert 80 <= xs.mean() <= 104 and 50 <= ys.mean() <= 78  # where the hand is
    assert (hands.any(-1) & ~extra).sum() == body.any(-1).sum()  # the body drawn as before
    # half width: across the little finger (x = 104), between two of its joints, ~4 px where limbs are 8
    wide = render_pose(pose, (128, 128), FigureStyle("body25_hands", thickness=8))
    across = wide[61, 101:112].any(-1).sum()
    upper_arm = wide[44, 76:100].any(-1).sum()  # the left upper arm, shoulder (79, 38) -> elbow (90, 58)
    assert 3 <= across <= 5 and upper_arm >= 8, (across, upper_arm)


class FakeHands:
    def __init__(self, hands):
        self.hands, self.closed = hands, False

    def __call__(self, image):
        return self.hands

    def close(self):
        self.closed = True


class OnePerson:
    skeleton, finds_everyone = "mediapipe33", True

    def estimate_all(self, image):
        return [mediapipe_person(*image.shape[1::-1])]

    def close(self):
        pass


def test_an_estimator_with_hands_gives_each_person_theirs():
    estimator = WithHands(OnePerson(), finder=FakeHands([hand_at(46, 38)]))
    (pose,) = estimator.estimate_all(np.zeros((64, 64, 3), np.uint8))
    assert pose.skeleton == "mediapipe33_hands" and pose.joint("left_hand_wrist")[2] > 0
    estimator.close()
    assert estimator.hands.closed


def test_real_mediapipe_hands_run_offline_and_leave_a_body_without_hands_as_it_was():
    from skimage.data import astronaut

    image = astronaut()  # her hands are out of the picture
    with build_estimator("mediapipe", EstimatorOptions(video=False)) as plain:
        (body,) = plain.estimate_all(image)
    with build_estimator("mediapipe", EstimatorOptions(video=False, hands=True)) as with_hands:
        (both,) = with_hands.estimate_all(image)
    assert both.skeleton == "mediapipe33_hands"
    np.testing.assert_allclose(both.points[:33], body.points, atol=1e-3)
    assert not both.points[33:, 2].any()  # no hand found, none drawn


def test_extract_with_a_hands_figure_writes_openpose_hand_lists(tmp_path):
    from pathlib import Path

    from pose_clips import astronaut_frames, write_clip
    from translate.cli import main

    clip = write_clip(Path(tmp_path / "src.mp4"), astronaut_frames(2, size=64), fps=8)
    assert main(["poses", "extract", str(clip), str(tmp_path / "ds"), "--figure", "body25_hands"]) == 0
    assert json.loads((tmp_path / "ds" / "figure.json").read_text())["skeleton"] == "body25_hands"
    person = json.loads(sorted((tmp_path / "ds" / "keypoints").glob("*.json"))[0].read_text())["people"][0]
    # The estimator's own body (MediaPipe's 33) and both hand lists, as OpenPose writes them when
    # hands are asked for: 21 points each, zeros for a hand not found (hers are out of the picture).
    assert [len(person[k]) for k in ("pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d")] \
        == [99, 63, 63]
