"""People found on real photos: two men side by side, four pedestrians, the astronaut twice.

Before, one skeleton per photo (MediaPipe Pose finds one person: ``mediapipe-single``); the
default estimator now finds everyone whose face the detector can see."""
import pytest

from real_photos import PEOPLE, matched, photo
from translate.people.poses.estimator import EstimatorOptions, build_estimator


@pytest.fixture(scope="module")
def everyone():
    with build_estimator("mediapipe", EstimatorOptions(video=False)) as estimator:
        yield estimator


def test_both_men_side_by_side_are_found_where_one_was():
    image = photo("zidane")
    with build_estimator("mediapipe-single", EstimatorOptions(video=False)) as single:
        assert matched(single.estimate_all(image), PEOPLE["zidane"])[0] <= 1
    with build_estimator("mediapipe", EstimatorOptions(video=False)) as estimator:
        assert matched(estimator.estimate_all(image), PEOPLE["zidane"]) == (2, 0)


def test_the_pedestrians_who_show_their_faces_are_found_and_nothing_else(everyone):
    # Two of the four show their faces; the other two (back turned, cut by the edges) are missed:
    # MediaPipe's person detector is anchored on the face.
    assert matched(everyone.estimate_all(photo("bus")), PEOPLE["bus"]) == (2, 0)


def test_the_astronaut_twice_is_two_people_and_once_is_one(everyone):
    assert matched(everyone.estimate_all(photo("astronaut_twice")), PEOPLE["astronaut_twice"]) == (2, 0)
    assert matched(everyone.estimate_all(photo("astronaut")), PEOPLE["astronaut"]) == (1, 0)
