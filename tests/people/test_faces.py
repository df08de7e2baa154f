"""Face detection, alignment, masks, tracking and paste-back on real photos (scikit-image)."""
import cv2
import numpy as np
import pytest
import skimage.data

from translate.people.faces_align import AlignSpec, align_face, invert, similarity_from_eyes, transform_points
from translate.people.faces_blend import BlendOptions, COLOR_MATCHERS, paste_face
from translate.people.faces_detect import Face, MediaPipeFaceDetector
from translate.people.faces_mask import HullMasker, MeshMasker, build_masker, face_mask
from translate.people.faces_track import FaceTracker, TrackOptions


@pytest.fixture(scope="module")
def detector():
    with MediaPipeFaceDetector() as d:
        yield d


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()


def _rotate(image, degrees):
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT101)


def test_astronaut_has_one_face_and_coffee_none(detector, astronaut):
    faces = detector(astronaut)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert abs(x - 177) < 20 and abs(y - 82) < 25 and 70 < w < 130
    left, right = faces[0].eyes
    assert left[0] < right[0] and x < left[0] < right[0] < x + w  # eyes named by image side, inside the box
    assert detector(skimage.data.coffee()) == []


@pytest.mark.parametrize("degrees", [0, 25])
def test_alignment_puts_the_eyes_level_at_the_fixed_places(detector, astronaut, degrees):
    image = _rotate(astronaut, degrees)
    spec = AlignSpec(size=192, margin=0.3)
    crop, _ = align_face(image, detector(image)[0].landmarks, spec)
    # Detect again in the crop: independent evidence that the face came out upright and in place.
    again = detector(crop)
    assert len(again) == 1
    eyes = again[0].eyes
    target = spec.eye_targets()
    distance = target[1, 0] - target[0, 0]  # BlazeFace keypoints wobble by a few % of this
    assert abs(eyes[0, 1] - eyes[1, 1]) < 0.1 * distance  # level
    assert np.abs(eyes - target).max() < 0.15 * distance


def test_similarity_maps_eyes_exactly_and_inverts():
    eyes = np.array([[100.0, 120.0], [140.0, 100.0]])
    spec = AlignSpec(size=64)
    m = similarity_from_eyes(eyes, spec.eye_targets())
    np.testing.assert_allclose(transform_points(m, eyes), spec.eye_targets(), atol=1e-9)
    back = transform_points(invert(m), transform_points(m, np.array([[5.0, 7.0]])))
    np.testing.assert_allclose(back, [[5.0, 7.0]], atol=1e-9)


def test_crop_round_trip_returns_the_face_region(detector, astronaut):
    face = detector(astronaut)[0]
    crop, m = align_face(astronaut, face.landmarks, AlignSpec(size=256, margin=0.3))
    h, w = astronaut.shape[:2]
    back = cv2.warpAffine(crop, invert(m), (w, h), flags=cv2.INTER_LINEAR)
    x, y, bw, bh = face.box.astype(int)
    region = (slice(y + 10, y + bh - 10), slice(x + 10, x + bw - 10))
    err = np.abs(back[region].astype(int) - astronaut[region]).mean()
    assert err < 6


def test_mask_covers_the_face_and_not_the_corners(detector, astronaut):
    face = detector(astronaut)[0]
    spec = AlignSpec(size=128)
    _, m = align_face(astronaut, face.landmarks, spec)
    mask = face_mask(transform_points(m, face.landmarks), spec.size)
    assert mask.dtype == np.float32 and mask.min() >= 0 and mask.max() <= 1
    for x, y in transform_points(m, face.landmarks[:4]):  # eyes, nose, mouth
        assert mask[int(y), int(x)] > 0.95
    assert mask[:8, :8].max() == 0 and mask[-8:, -8:].max() == 0
    assert 0.15 < mask.mean() < 0.6
    edge = mask[int(spec.eye_targets()[0, 1])]
    assert ((edge > 0.05) & (edge < 0.95)).any()  # feathered, not a hard edge


@pytest.mark.parametrize("mode", ["feather", "poisson"])
@pytest.mark.parametrize("color", sorted(COLOR_MATCHERS))
def test_identity_paste_back_leaves_the_frame_nearly_unchanged(detector, astronaut, mode, color):
    face = detector(astronaut)[0]
    spec = AlignSpec(size=256)
    crop, m = align_face(astronaut, face.landmarks, spec)
    mask = face_mask(transform_points(m, face.landmarks), spec.size)
    out = paste_face(astronaut, crop, m, mask, BlendOptions(color=color, mode=mode))
    diff = np.abs(out.astype(int) - astronaut).max(axis=2)
    assert diff.mean() < 0.5 and np.percentile(diff[diff > 0], 90) < 25
    x, y, w, h = face.box.astype(int)
    far = np.ones(diff.shape, bool)
    far[max(0, y - h):y + 2 * h, max(0, x - w):x + 2 * w] = False
    assert diff[far].max() == 0  # far from the face: bit-identical


def test_paste_back_changes_the_face(detector, astronaut):
    face = detector(astronaut)[0]
    spec = AlignSpec(size=128)
    crop, m = align_face(astronaut, face.landmarks, spec)
    mask = face_mask(transform_points(m, face.landmarks), spec.size)
    out = paste_face(astronaut, 255 - crop, m, mask, BlendOptions(color="none"))
    nose = face.landmarks[2].astype(int)
    assert np.abs(out[nose[1], nose[0]].astype(int) - astronaut[nose[1], nose[0]]).sum() > 100


def _face(x, y, size=50.0):
    lm = np.array([[x - 10, y - 5], [x + 10, y - 5], [x, y + 3], [x, y + 12], [x - 20, y], [x + 20, y]], float)
    return Face(np.array([x - size / 2, y - size / 2, size, size]), 0.9, lm)


def test_smoothing_reduces_jitter_of_a_noisy_track():
    rng = np.random.default_rng(0)
    truth = [(100 + t, 80.0) for t in range(60)]
    noisy = [_face(x + rng.normal(0, 2), y + rng.normal(0, 2)) for x, y in truth]
    raw = FaceTracker(TrackOptions(smoothing=0.0))
    smooth = FaceTracker(TrackOptions(smoothing=0.7))

    def jitter(tracker):
        eyes = np.array([tracker.update([f]).landmarks[0] for f in noisy])
        return np.abs(np.diff(eyes, n=2, axis=0)).mean()  # second difference: shake, not motion

    assert jitter(smooth) < 0.5 * jitter(raw)


def test_smoothing_resets_on_a_jump_and_no_face():
    tracker = FaceTracker(TrackOptions(smoothing=0.9))
    tracker.update([_face(100, 100)])
    assert tracker.update([_face(300, 100)]).centre[0] == pytest.approx(300)
    assert tracker.update([]) is None


def test_face_selection_rules():
    small, big = _face(50, 50, 30), _face(200, 50, 80)
    assert FaceTracker(TrackOptions("largest", smoothing=0)).update([small, big]).size == 80
    nearest = FaceTracker(TrackOptions("nearest", smoothing=0))
    nearest.previous = small
    assert nearest.update([big, small]).size == 30
    assert FaceTracker(TrackOptions("index", index=1, smoothing=0)).update([big, small]).centre[0] == 200
    assert FaceTracker(TrackOptions("index", index=5, smoothing=0)).update([big, small]) is None
    assert FaceTracker(TrackOptions(min_size=40, smoothing=0)).update([small]) is None
    with pytest.raises(ValueError):
        TrackOptions(select="tallest")


def test_mesh_mask_follows_the_face_and_falls_back_to_the_hull(detector, astronaut):
    face = detector(astronaut)[0]
    spec = AlignSpec(size=128)
    crop, m = align_face(astronaut, face.landmarks, spec)
    landmarks = transform_points(m, face.landmarks)
    masker = build_masker("mesh")
    mesh = masker(crop, landmarks)
    hull = HullMasker()(crop, landmarks)
    for x, y in landmarks[:4]:
        assert mesh[int(y), int(x)] > 0.95
    assert mesh[:8, :8].max() == 0 and 0.15 < mesh.mean() < 0.6
    assert np.abs(mesh - hull).mean() > 0.01  # a different (mesh) outline, not the hull again
    assert masker.fallbacks == 0
    blank = np.full_like(crop, 127)
    np.testing.assert_array_equal(masker(blank, landmarks), hull)  # no face in the crop: the hull
    assert masker.fallbacks == 1 and isinstance(masker, MeshMasker)
    with pytest.raises(ValueError):
        build_masker("ellipse")
