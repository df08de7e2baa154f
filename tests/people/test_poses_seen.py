"""Only what is seen is drawn: the visibility threshold, limbs with both ends, frames with nobody."""
import numpy as np
import pytest

from translate.errors import InvalidSettingError
from translate.people.poses import estimator
from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.nobody import Nobody, frame_list, hold_last
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.seen import check_against_figure, drop_unseen, is_seen
from translate.people.poses.skeletons import Pose, skeleton

from test_poses import mediapipe_person

LEGS = ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index",
        "right_foot_index")


def waist_up(w=64, h=64):
    """A person seen to the hips; the legs placed, as MediaPipe places them, but scored unseen (0.3-0.45)."""
    pose = mediapipe_person(w, h)
    index = skeleton("mediapipe33").index
    for k, name in enumerate(LEGS):
        pose.points[index[name], 2] = 0.3 + 0.02 * k
    return pose


def labels(pose, style=FigureStyle(mode="labels")):
    """The limbs drawn, by name (one label channel per coco18 limb)."""
    figure = render_pose(pose, (64, 64), style)
    return {limb for i, limb in enumerate(skeleton(style.skeleton).limbs) if figure[..., i].any()}


def test_joints_below_the_threshold_become_missing_and_the_rest_stay_as_they_were():
    pose = waist_up()
    seen = drop_unseen(pose, 0.5)
    index = skeleton("mediapipe33").index
    for name in LEGS:
        assert tuple(seen.joint(name)) == (0, 0, 0)  # OpenPose's missing joint: written with confidence 0
    np.testing.assert_array_equal(seen.joint("left_hip"), pose.joint("left_hip"))
    assert drop_unseen(pose, 0.9) is not None and drop_unseen(pose, 0.95) is None  # nothing seen: nobody
    assert pose.points[index["left_knee"], 2] == pytest.approx(0.3)  # the input is not changed


class _Guesser:
    """A stand-in backend that places every joint, the legs with low visibility."""

    skeleton = "mediapipe33"
    finds_everyone = False  # a one-person backend: estimate, not estimate_all

    def __init__(self, options=None):
        pass

    def estimate(self, image):
        return waist_up()

    def close(self):
        pass


def test_every_backend_is_cut_at_the_threshold_and_a_waist_up_person_gets_a_waist_up_figure(monkeypatch):
    monkeypatch.setattr(estimator.POSE_ESTIMATORS, "_builders",
                        {**estimator.POSE_ESTIMATORS._builders, "mediapipe": _Guesser})
    image = np.zeros((64, 64, 3), np.uint8)
    with build_estimator("mediapipe") as default:
        pose = default.estimate(image)
    assert all(pose.joint(name)[2] == 0 for name in LEGS)
    drawn = labels(pose)
    assert ("left_shoulder", "left_elbow") in drawn and ("neck", "left_hip") in drawn
    assert not {limb for limb in drawn if set(limb) & {"left_knee", "right_knee", "left_ankle", "right_ankle"}}
    # The same guess with the threshold lowered draws the legs: the setting is what decides.
    with build_estimator("mediapipe", EstimatorOptions(min_visibility=0.3)) as lowered:
        assert ("left_knee", "left_ankle") in labels(lowered.estimate(image))


def test_a_limb_is_drawn_only_when_both_its_joints_are_seen():
    pose = mediapipe_person()
    pose.points[skeleton("mediapipe33").index["left_wrist"], 2] = 0.4
    drawn = labels(drop_unseen(pose, 0.5))
    assert ("left_shoulder", "left_elbow") in drawn and ("left_elbow", "left_wrist") not in drawn


def test_a_zero_threshold_still_leaves_out_missing_joints():
    pose = mediapipe_person()
    pose.points[skeleton("mediapipe33").index["left_wrist"]] = 0  # missing: (0, 0, 0)
    figure = render_pose(pose, (64, 64), FigureStyle(min_confidence=0.0))
    assert not figure[:4, :4].any()  # no forearm drawn to the corner
    assert list(is_seen([0.0, 0.2, 0.5], 0.0)) == [False, True, True]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_thresholds_outside_0_to_1_are_refused_naming_the_setting(bad):
    with pytest.raises(InvalidSettingError, match="--min-visibility"):
        EstimatorOptions(min_visibility=bad)
    with pytest.raises(InvalidSettingError, match="--min-confidence"):
        FigureStyle(min_confidence=bad)


def test_a_visibility_threshold_below_the_figures_is_refused_not_silently_outvoted():
    check_against_figure(0.5, 0.3)
    with pytest.raises(InvalidSettingError, match="lower --min-confidence to 0.2"):
        check_against_figure(0.2, 0.3)


def test_frames_with_nobody_are_listed_by_number_with_runs_and_a_cut():
    assert frame_list([3, 4, 7, 8, 9, 10, 11, 12]) == "3, 4, 7-12"
    assert frame_list([12, 3]) == "3, 12"
    assert frame_list(range(0, 40, 2), shown=3) == "0, 2, 4, ..."
    frames = [3, 4, *range(7, 13), 15, 17, 19, 21, 23, 25]
    poses = [None if i in frames else Pose("coco18", np.ones((18, 3))) for i in range(30)]
    nobody = Nobody.of(poses)
    assert nobody.frames == tuple(frames) and nobody.count == 14 and nobody.total == 30
    assert nobody.summary() == ("14 of 30 frames had nobody: 3, 4, 7-12, 15, 17, 19, 21, 23, ... "
                                "(their figures are empty)")
    assert Nobody.of(poses[:3], numbers=[10, 20, 30]).summary() == ""
    assert "hold the last pose: --hold-last" in Nobody.of([None], held=True).summary()


def test_hold_last_is_the_old_behaviour_only_when_asked():
    a, b = Pose("coco18", np.full((18, 3), 1.0)), Pose("coco18", np.full((18, 3), 2.0))
    assert hold_last([None, a, None, None, b, None]) == [a, a, a, a, b, b]
    assert hold_last([None, None]) == [None, None]
