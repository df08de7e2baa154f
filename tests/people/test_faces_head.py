"""Head masks: hair, forehead and ears in the swap region; hands in front of the face left out."""
import numpy as np
import pytest
import skimage.data

from translate.people.faces_align import AlignSpec, align_face, transform_points
from translate.people.faces_detect import MediaPipeFaceDetector
from translate.people.faces_mask import MASKERS, HeadMasker, build_masker


@pytest.fixture(scope="module")
def astronaut():
    """Her aligned 128 px crop and its 6 landmarks."""
    image = skimage.data.astronaut()
    with MediaPipeFaceDetector() as detector:
        face = detector(image)[0]
    crop, matrix = align_face(image, face.landmarks, AlignSpec(128))
    return crop, transform_points(matrix, face.landmarks)


@pytest.fixture(scope="module")
def head():
    masker = build_masker("head")
    yield masker
    masker.close()


def _points(landmarks):
    eyes = landmarks[:2].mean(0)
    axis = landmarks[3] - eyes
    at = lambda p: (int(round(p[1])), int(round(p[0])))  # noqa: E731  (row, column)
    cheek = landmarks[2] + [0.3 * (landmarks[5, 0] - landmarks[4, 0]), 0]
    return {"hair": at(eyes - 1.5 * axis), "mouth": at(landmarks[3]), "cheek": at(cheek),
            "collar": (126, int(round(landmarks[3][0]))), "background": (3, 3)}


def test_her_hair_is_in_the_head_mask_and_not_in_the_face_mask(astronaut, head):
    crop, landmarks = astronaut
    face, whole = build_masker("mesh")(crop, landmarks), head(crop, landmarks)
    assert whole.shape == crop.shape[:2] and whole.dtype == np.float32 and 0 <= whole.min() <= whole.max() <= 1
    p = _points(landmarks)
    assert whole[p["hair"]] > 0.7 and face[p["hair"]] < 0.1
    assert whole[p["mouth"]] > 0.9 and whole[p["cheek"]] > 0.9  # the face itself stays in
    assert whole[p["background"]] < 0.05 and whole[p["collar"]] < 0.2  # not the wall, not the suit below
    assert whole.sum() > 1.4 * face.sum()
    assert head.hands(crop) == []  # no hand on her: nothing cut out


def test_a_hand_in_front_of_the_face_is_left_out(astronaut, head):
    crop, landmarks = astronaut
    mouth = landmarks[3]
    hand = np.array([[-14, -10], [14, -10], [14, 16], [-14, 16]], np.float32) + mouth.astype(np.float32)
    occluded = HeadMasker.__new__(HeadMasker)  # the real segmenter, a hand finder that sees this square
    occluded.segment, occluded.hands, occluded.hands_found = head.segment, lambda image: [hand], 0
    mask, free = occluded(crop, landmarks), head(crop, landmarks)
    p = _points(landmarks)
    assert mask[p["mouth"]] < 0.1 and free[p["mouth"]] > 0.9
    assert mask[p["hair"]] > 0.7 and occluded.hands_found == 1  # the rest of the head is still swapped


def test_the_head_masker_is_registered():
    assert "head" in MASKERS
