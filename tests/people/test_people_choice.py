"""Choosing the dancer (--person ID|largest|centre), keypoint files with several people and their IDs,
and the preview that shows who is who."""
import numpy as np
import pytest

from test_tracking import crossing, figure_at
from translate.errors import InvalidSettingError
from translate.people.poses.choose import NoSuchPersonError, PersonChoice
from translate.people.poses.openpose_json import KeypointFileError, PoseFrame, read_keypoints, write_keypoints
from translate.people.poses.people import PeopleRecord
from translate.people.poses.preview import CHOSEN, draw_people

SIZE = (100, 40)


def record_of(frames):
    record = PeopleRecord()
    for people in frames:
        record.add([pose for _, pose in people], np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
    return record


def scaled(pose, factor, about_x):
    out = pose.copy()
    out.points[:, 0] = about_x + (out.points[:, 0] - about_x) * factor
    out.points[:, 1] *= factor
    return out


def test_parse_takes_ids_rules_and_the_american_spelling_and_refuses_the_rest():
    assert PersonChoice.parse("largest") == PersonChoice("largest")
    assert PersonChoice.parse("Center") == PersonChoice("centre")
    assert PersonChoice.parse("2") == PersonChoice("id", 2)
    for bad in ("0", "-1", "tallest", "1.5", ""):
        with pytest.raises(InvalidSettingError, match="--person must be an ID"):
            PersonChoice.parse(bad)


def test_largest_centre_and_id_each_choose_one_person_for_the_whole_clip():
    # A small person in the middle (x=50) and a large one at the side (x=15), in every frame.
    frames = [[("small", figure_at(50)), ("large", scaled(figure_at(15), 1.2, 15))] for _ in range(4)]
    record = record_of(frames)
    assert record.ids() == [1, 2]  # left to right: the large one is 1
    assert record.choose(PersonChoice("largest")).id == 1
    assert record.choose(PersonChoice("centre")).id == 2
    chosen = record.choose(PersonChoice("id", 2))
    assert chosen.id == 2 and all(p is not None and abs(p.joint("nose")[0] - 50) < 1 for p in chosen.poses)
    assert record.summary(chosen) == "people: 2 (IDs 1, 2); chosen: ID 2, seen in 4 of 4 frames"
    with pytest.raises(NoSuchPersonError, match=r"--person 7: no person had that ID \(IDs seen: 1, 2\)"):
        record.choose(PersonChoice("id", 7))


def test_the_choice_follows_one_person_through_a_crossing_not_the_largest_of_each_frame():
    record = record_of(crossing(hide={10, 11, 12, 13}))
    chosen = record.choose(PersonChoice("id", 2))  # B, who starts on the right and walks left
    xs = [p.joint("nose")[0] if p is not None else None for p in chosen.poses]
    assert xs[0] > 80 and xs[-1] < 20
    assert [i for i, x in enumerate(xs) if x is None] == [10, 11, 12, 13]  # hidden: nobody, not A


def test_someone_passing_for_a_moment_is_never_chosen_by_a_rule():
    frames = [[("dancer", figure_at(50))] for _ in range(6)]
    frames[2] = frames[2] + [("passer-by", scaled(figure_at(80), 1.25, 80))]  # larger, one frame
    record = record_of(frames)
    assert record.choose(PersonChoice("largest")).id == 1 and record.choose(PersonChoice("id", 2)).id == 2


def test_nobody_at_all_chooses_nobody():
    record = record_of([[], []])
    chosen = record.choose(PersonChoice())
    assert chosen.id is None and chosen.poses == [None, None]
    assert record.summary(chosen) == "people: nobody found"


def test_keypoint_files_keep_several_people_and_their_ids(tmp_path):
    a, b = figure_at(20), figure_at(70)
    write_keypoints(tmp_path / "f_keypoints.json", PoseFrame([a, b], SIZE, [3, 1]))
    back = read_keypoints(tmp_path / "f_keypoints.json")
    assert back.ids == [3, 1] and back.canvas_size == SIZE and len(back.people) == 2
    assert np.allclose(back.people[0].points, a.points, atol=1e-3) and np.allclose(back.people[1].points, b.points,
                                                                                    atol=1e-3)
    assert PoseFrame([a]).ids == [-1]  # untracked, as OpenPose writes it
    (tmp_path / "bad_keypoints.json").write_text('{"people": [{"pose_keypoints_2d": %s, "person_id": ["x"]}]}'
                                                 % list(a.points.reshape(-1).tolist()))
    with pytest.raises(KeypointFileError, match="bad_keypoints.json: person 0: 'person_id' must be"):
        read_keypoints(tmp_path / "bad_keypoints.json")
    with pytest.raises(ValueError):
        PoseFrame([a, b], SIZE, [1])


def test_the_preview_draws_everyone_with_an_id_and_marks_the_chosen_one():
    image = np.full((80, 200, 3), 120, np.uint8)
    people = [(1, scaled(figure_at(20), 2, 0)), (2, scaled(figure_at(60), 2, 0))]
    out = draw_people(image, people, chosen=2, why="largest")
    assert out.shape == image.shape and out.dtype == np.uint8
    yellow = np.all(out == CHOSEN, axis=-1)
    assert yellow[:, 100:].any() and not yellow[:, :80].any()  # the box and label are the chosen person's
    assert (out[:, :80] != (image[:, :80] * 0.6).astype(np.uint8)).any()  # the other is drawn too
    assert (draw_people(image, [], None) == (image * 0.6).astype(np.uint8)).all()  # nobody: the frame alone
