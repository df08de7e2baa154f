"""Global pose normalisation on hand-made keypoints with known answers."""
import numpy as np
import pytest

from translate.people.poses.normalise import PoseNormaliser, PoseStats, pose_stats

from pose_clips import stick


def test_stats_measure_near_and_far_positions_and_heights():
    poses = [stick(32, 50, 20), stick(30, 40, 10), stick(31, 45, 15), None, stick(32, 50, 19)]
    stats = pose_stats(poses, (64, 64))
    assert (stats.ankle_close, stats.ankle_far, stats.height_close, stats.height_far) == (50, 40, 20, 10)
    assert stats.frames == 4


def test_a_source_twice_the_size_and_lower_maps_onto_the_targets_framing(tmp_path):
    target = pose_stats([stick(32, 50, 20), stick(32, 40, 10)], (64, 64))
    source = pose_stats([stick(64, 120, 40), stick(64, 100, 20)], (128, 128))  # twice as big, lower
    path = tmp_path / "source_stats.json"
    source.save(path)
    norm = PoseNormaliser(PoseStats.load(path), target)
    close = norm(stick(64, 120, 40))
    np.testing.assert_allclose(close.joint("left_ankle")[:2], (32 + 1.5, 50))
    np.testing.assert_allclose(close.joint("nose")[:2], (32, 30))  # 20 px tall at the target's close spot
    far = norm(stick(64, 100, 20))
    np.testing.assert_allclose(far.joint("nose")[:2], (32, 30))  # 10 px tall standing at y 40
    middle = norm(stick(64, 110, 30))  # halfway in depth: halfway in place and scale
    np.testing.assert_allclose(middle.joint("nose")[:2], (32, 45 - 15), atol=1e-4)
    assert middle.joint("nose")[2] == 1.0  # confidence untouched


def test_a_frame_without_ankles_keeps_the_previous_depth():
    target = pose_stats([stick(32, 50, 20), stick(32, 40, 10)], (64, 64))
    source = pose_stats([stick(64, 120, 40), stick(64, 100, 20)], (128, 128))
    norm = PoseNormaliser(source, target)
    norm(stick(64, 100, 20))
    no_feet = stick(64, 100, 20)
    no_feet.points[[10, 13], 2] = 0
    assert norm(no_feet).joint("nose")[1] == pytest.approx(30)


def test_stats_need_a_visible_nose_and_ankle():
    upper_body = stick(32, 50, 20)
    upper_body.points[[10, 13], 2] = 0
    with pytest.raises(ValueError, match="ankles"):
        pose_stats([upper_body], (64, 64))



def test_stats_and_the_normaliser_leave_out_joints_that_were_not_seen():
    ghost = stick(32, 60, 30)
    ghost.points[[10, 13], 2] = 0.4  # ankles guessed low in the frame, seen at 0.4 only
    stats = pose_stats([stick(32, 50, 20), ghost, stick(32, 40, 10)], (64, 64), min_confidence=0.5)
    assert (stats.ankle_close, stats.ankle_far, stats.frames) == (50, 40, 2)
    with pytest.raises(ValueError, match="ankles"):
        pose_stats([ghost], (64, 64), min_confidence=0.5)
    missing = stick(32, 62, 32)
    missing.points[[10, 13]] = 0  # ankles missing altogether: a threshold of 0 must not read y 0 as the far end
    stats = pose_stats([stick(32, 50, 20), missing, stick(32, 40, 10)], (64, 64), min_confidence=0.0)
    assert (stats.ankle_close, stats.ankle_far, stats.frames) == (50, 40, 2)
    target = pose_stats([stick(32, 50, 20), stick(32, 40, 16)], (64, 64))  # scale 0.8 far, 0.5 close
    source = pose_stats([stick(64, 120, 40), stick(64, 100, 20)], (128, 128))
    norm = PoseNormaliser(source, target, min_confidence=0.5)
    norm(stick(64, 100, 20))  # far: p = 0
    seen_close = stick(64, 120, 30)
    assert norm(seen_close).joint("nose")[1] == pytest.approx(50 + 0.5 * (90 - 120))  # p = 1
    norm(stick(64, 100, 20))
    unseen = stick(64, 120, 30)
    unseen.points[[10, 13], 2] = 0.4
    assert norm(unseen).joint("nose")[1] == pytest.approx(40 + 0.8 * (90 - 100))  # p stays 0
