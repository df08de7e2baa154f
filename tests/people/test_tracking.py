"""IDs that survive: two stick figures that cross (in the open and one behind the other), a short
disappearance, and a long one that ends the ID."""
import pytest

from pose_clips import walker
from translate.errors import InvalidSettingError
from translate.people.poses.choose import pose_box
from translate.people.tracking import IdTracker, TrackingOptions


def figure_at(x, t=0.0, y=0.0):
    """The walker (32 px tall, 16 wide) with its middle at x, arms swinging with t."""
    pose = walker(t)
    pose.points[:, 0] += x - 16
    pose.points[:, 1] += y
    return pose


def crossing(frames=24, hide=()):
    """Two walkers crossing: A from x=10 to 90, B from 90 to 10, 1 px higher; frames in ``hide``
    show only A (B is behind A). Returns, per frame, the true names and the figures."""
    out = []
    for i in range(frames):
        a = 10 + 80 * i / (frames - 1)
        b = 90 - 80 * i / (frames - 1)
        people = [("A", figure_at(a, i * 0.5)), ("B", figure_at(b, i * 0.5 + 1, y=1))]
        if i in hide:
            people = people[:1]
        out.append(people)
    return out


def id_switches(frames, tracker):
    """Run the tracker; count the frames where a true person's ID differs from their first ID."""
    first, switches = {}, 0
    for people in frames:
        ids = tracker.update([pose_box(pose) for _, pose in people])
        for (name, _), pid in zip(people, ids):
            first.setdefault(name, pid)
            switches += pid != first[name]
    return switches, first


def test_two_figures_that_cross_keep_their_ids():
    switches, first = id_switches(crossing(), IdTracker())
    assert switches == 0 and first == {"A": 1, "B": 2}  # numbered left to right


def test_the_hidden_figure_gets_its_id_back_after_passing_behind_the_other():
    # B is hidden for the four frames around the crossing, where the figures overlap most.
    switches, first = id_switches(crossing(hide={10, 11, 12, 13}), IdTracker())
    assert switches == 0 and first == {"A": 1, "B": 2}


def test_without_the_velocity_the_crossing_swaps_them():
    # The prediction is what keeps them apart: matched on last boxes alone, a hidden crossing swaps IDs.
    class NoVelocity(IdTracker):
        def _continue(self, track, box):
            track.box, track.missing = box, 0  # velocity stays zero: the last box is the prediction

    switches, _ = id_switches(crossing(hide={10, 11, 12, 13}), NoVelocity())
    assert switches > 0


def test_a_short_disappearance_keeps_the_id_and_a_long_one_ends_it():
    tracker = IdTracker(TrackingOptions(max_missing=5))
    here = [pose_box(figure_at(40))]
    assert tracker.update(here) == [1]
    for _ in range(5):  # gone for max_missing frames: remembered
        assert tracker.update([]) == []
    assert tracker.update(here) == [1]
    for _ in range(6):  # gone for longer: forgotten, the person returns as someone new
        tracker.update([])
    assert tracker.update(here) == [2]


def test_someone_new_gets_a_new_id_and_the_others_keep_theirs():
    tracker = IdTracker()
    assert tracker.update([pose_box(figure_at(20)), pose_box(figure_at(60))]) == [1, 2]
    assert tracker.update([pose_box(figure_at(100)), pose_box(figure_at(61)), pose_box(figure_at(21))]) == [3, 2, 1]


@pytest.mark.parametrize("bad", [{"max_missing": -1}, {"min_overlap": 1.5}, {"momentum": 1.0}])
def test_bad_tracking_settings_are_refused(bad):
    with pytest.raises(InvalidSettingError):
        TrackingOptions(**bad)
