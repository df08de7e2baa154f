"""The face in the figure (--figure body25_hands_face): OpenPose's 70 face points from MediaPipe's
face mesh, each person's face from a crop around their own head, OpenPose's face list, the face
drawn thin and white, and extraction asking for the face only then."""
import json

import numpy as np
import pytest

from translate.people.poses.estimator import EstimatorOptions, build_estimator
from translate.people.poses.face import (FOUND, MESH_INDEX, MESH_POINTS, FaceLandmarks, WithFace, attach_faces,
                                         head_box)
from translate.people.poses.hands import WithHands, attach_hands
from translate.people.poses.openpose_json import PoseFrame, read_keypoints, write_keypoints
from translate.people.poses.render import FigureStyle, render_pose
from translate.people.poses.skeletons import (FACE_LIMBS, FACE_POINTS, SKELETONS, convert, has_face, has_hands,
                                              skeleton, skeleton_for_count)

from test_poses import mediapipe_person
from test_poses_hands import FakeHands, OnePerson, hand_at

RIGHT_EYE_POINTS, LEFT_EYE_POINTS, MOUTH_POINTS = slice(36, 42), slice(42, 48), slice(48, 68)


def face_at(x, y, size=20.0):
    """A flat cartoon face centred at (x, y): OpenPose's 70 points on an ellipse and two eyes."""
    points = np.zeros((FACE_POINTS, 3), np.float32)
    for k in range(FACE_POINTS):
        angle = 2 * np.pi * k / FACE_POINTS
        points[k] = (x + size / 2 * np.cos(angle), y + size * 0.6 * np.sin(angle), FOUND)
    return points


@pytest.fixture(scope="module")
def astronaut_face():
    """The astronaut's pose with her face, found by the real face mesh (and her face by the
    project's face detector, to check the points against)."""
    from skimage.data import astronaut

    from translate.people.faces_detect import build_detector

    image = astronaut()
    with build_estimator("mediapipe", EstimatorOptions(video=False, face=True)) as estimator:
        (pose,) = estimator.estimate_all(image)
    with build_detector() as detector:
        (face,) = detector(image)
    return image, pose, face


def test_the_table_names_70_distinct_mesh_vertices_in_the_mesh_own_regions():
    from translate.people.mediapipe_compat import import_mediapipe

    assert len(MESH_INDEX) == FACE_POINTS == 70 and len(set(MESH_INDEX)) == 70
    assert all(0 <= i < MESH_POINTS for i in MESH_INDEX)
    mesh = import_mediapipe().solutions.face_mesh  # the wheel's own named regions; its "right" is the person's

    def region(edges):
        return {i for edge in edges for i in edge}

    # OpenPose's ranges (jaw 0-16, right brow 17-21, left brow 22-26, right eye 36-41, left eye
    # 42-47, lips 48-67) hold vertices of the mesh's regions of the same names.
    assert set(MESH_INDEX[0:17]) <= region(mesh.FACEMESH_FACE_OVAL)
    assert set(MESH_INDEX[17:22]) <= region(mesh.FACEMESH_RIGHT_EYEBROW)
    assert set(MESH_INDEX[22:27]) <= region(mesh.FACEMESH_LEFT_EYEBROW)
    assert set(MESH_INDEX[36:42]) <= region(mesh.FACEMESH_RIGHT_EYE)
    assert set(MESH_INDEX[42:48]) <= region(mesh.FACEMESH_LEFT_EYE)
    assert set(MESH_INDEX[48:68]) <= region(mesh.FACEMESH_LIPS)
    right_iris, left_iris = region(mesh.FACEMESH_RIGHT_IRIS), region(mesh.FACEMESH_LEFT_IRIS)
    assert min(right_iris) == MESH_INDEX[68] + 1  # 68's pupil is the centre of the right iris ring (469-472)
    assert min(left_iris) == MESH_INDEX[69] + 1


def test_face_skeletons_add_70_points_after_everything_and_openpose_face_lines():
    hands_face, hands = skeleton("body25_hands_face"), skeleton("body25_hands")
    assert hands_face.joints[:67] == hands.joints and len(hands_face.joints) == 25 + 2 * 21 + 70
    assert hands_face.joints[-70:] == tuple(f"face_{k}" for k in range(70))
    assert len(set(hands_face.joints)) == len(hands_face.joints)
    assert len(FACE_LIMBS) == 63  # OpenPose's FACE_PAIRS_RENDER: pupils take no line
    assert ("face_41", "face_36") in FACE_LIMBS and ("face_16", "face_17") not in FACE_LIMBS
    assert not any("face_68" in limb or "face_69" in limb for limb in FACE_LIMBS)
    assert len(skeleton("mediapipe33_hands_face").joints) == 33 + 42 + 70
    assert len(skeleton("body25_face").joints) == 25 + 70
    assert has_face("body25_hands_face") and has_face("mediapipe33_face") and not has_face("body25_hands")
    assert has_hands("body25_hands_face") and not has_hands("body25_face")
    counts = [len(skeleton(name).joints) for name in SKELETONS.names()]
    assert len(set(counts)) == len(counts)  # a file's joint count names one skeleton
    assert all(skeleton_for_count(len(skeleton(n).joints)).name == n for n in SKELETONS.names())


def test_the_astronaut_face_lands_on_her_face_the_right_way_round(astronaut_face):
    _, pose, face = astronaut_face
    assert pose.skeleton == "mediapipe33_face"
    points = pose.points[-70:]
    assert (points[:, 2] == FOUND).all()
    x, y, w, h = face.box  # BlazeFace's box runs brow to chin; the jaw's ends reach a little past its sides
    inside = ((points[:, 0] >= x - 0.1 * w) & (points[:, 0] <= x + 1.1 * w) & (points[:, 1] >= y - 0.1 * h)
              & (points[:, 1] <= y + 1.1 * h))
    assert inside.all(), np.nonzero(~inside)
    right_eye, left_eye, mouth = points[RIGHT_EYE_POINTS], points[LEFT_EYE_POINTS], points[MOUTH_POINTS]
    assert right_eye[:, 1].max() < mouth[:, 1].min() and left_eye[:, 1].max() < mouth[:, 1].min()
    assert right_eye[:, 0].max() < left_eye[:, 0].min()  # her right eye is on the image's left
    assert points[0, 0] < points[8, 0] < points[16, 0] and points[8, 1] > mouth[:, 1].max()  # jaw: ear, chin, ear
    for pupil, eye in ((points[68], right_eye), (points[69], left_eye)):  # each pupil inside its own eye
        assert eye[:, 0].min() < pupil[0] < eye[:, 0].max() and eye[:, 1].min() - 2 < pupil[1] < eye[:, 1].max() + 2
    # The body's own eyes agree with the face's: the face's right eye is nearer the body's right eye.
    body_right = pose.joint("right_eye")[:2]
    assert np.linalg.norm(right_eye[:, :2].mean(0) - body_right) < np.linalg.norm(left_eye[:, :2].mean(0) - body_right)


def test_each_of_two_people_gets_the_face_in_their_own_head():
    from real_photos import photo

    image = photo("astronaut_twice")  # the astronaut and her mirror image, side by side
    with build_estimator("mediapipe", EstimatorOptions(video=False, face=True)) as estimator:
        people = sorted(estimator.estimate_all(image), key=lambda p: p.joint("nose")[0])
    assert len(people) == 2
    for pose in people:
        face = pose.points[-70:]
        assert (face[:, 2] > 0).all()
        assert np.linalg.norm(face[30, :2] - pose.joint("nose")[:2]) < 15  # the face's nose tip at the body's nose
        right_eye = face[RIGHT_EYE_POINTS, :2].mean(0)  # the face's right eye is the body's right eye
        assert np.linalg.norm(right_eye - pose.joint("right_eye")[:2]) < 10
    assert people[0].points[-70:, 0].max() < 512 <= people[1].points[-70:, 0].min()


def test_a_crop_holding_two_faces_gives_the_one_nearest_the_head():
    import cv2
    from skimage.data import astronaut

    head = cv2.resize(astronaut()[0:256, 100:356], (128, 128), interpolation=cv2.INTER_AREA)
    two = np.concatenate([head, head], 1)  # her head twice, 128 px apart
    finder = FaceLandmarks()
    try:
        for centre in (64, 192):  # both crops are the whole picture (the box reaches past it): only the head differs
            face = finder(two, (centre - 256, -192, centre + 256, 320))
            assert abs(face[:68, 0].mean() - centre) < 8, (centre, face[:68, 0].mean())
    finally:
        finder.close()


def test_a_face_not_found_or_a_head_not_seen_keeps_zeros():
    black = np.zeros((64, 64, 3), np.uint8)
    finder = FaceLandmarks()
    try:
        estimator = WithFace(OnePerson(), finder=finder)
        (pose,) = estimator.estimate_all(black)  # a head where the picture is black: the mesh finds no face
        assert pose.skeleton == "mediapipe33_face" and not pose.points[-70:].any()
        np.testing.assert_array_equal(pose.points[:33], mediapipe_person().points)
    finally:
        finder.close()
    unseen = mediapipe_person()
    for name in ("nose", "left_eye", "right_eye", "left_ear"):
        unseen.points[skeleton("mediapipe33").index[name]] = 0
    assert head_box(unseen) is None  # one head joint gives no size: no crop, no face
    box = head_box(mediapipe_person())
    assert box is not None and box[0] < 0.44 * 64 and box[2] > 0.56 * 64  # the ears inside the crop
    with pytest.raises(ValueError, match="faces for"):
        attach_faces([mediapipe_person()], [])


class FakeFaces:
    def __init__(self):
        self.boxes, self.closed = [], False

    def __call__(self, image, box):
        self.boxes.append(box)
        return face_at((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)

    def close(self):
        self.closed = True


def test_an_estimator_with_hands_and_face_gives_each_person_both_face_last():
    faces = FakeFaces()
    estimator = WithFace(WithHands(OnePerson(), finder=FakeHands([hand_at(46, 38)])), finder=faces)
    assert estimator.skeleton == "mediapipe33_hands_face"
    (pose,) = estimator.estimate_all(np.zeros((64, 64, 3), np.uint8))
    assert pose.skeleton == "mediapipe33_hands_face" and pose.joint("left_hand_wrist")[2] > 0
    nose = pose.joint("nose")  # the face was looked for around her head
    assert len(faces.boxes) == 1 and np.abs(pose.points[-70:, :2].mean(0) - nose[:2]).max() < 2
    estimator.close()
    assert faces.closed and estimator.backend.hands.closed
    with pytest.raises(ValueError, match="a face attaches to"):
        WithFace(estimator, finder=faces)  # a face on a face


def test_openpose_files_keep_the_face_in_its_own_list(tmp_path):
    body = mediapipe_person()
    pose = convert(attach_faces(attach_hands([body], [hand_at(46, 38)]), [face_at(32, 9, 8)])[0], "body25_hands_face")
    path = tmp_path / "f_keypoints.json"
    write_keypoints(path, PoseFrame([pose, convert(attach_faces([body], [None])[0], "body25_face")], (64, 64), [1, 2]))
    first, second = json.loads(path.read_text())["people"]
    assert [len(first[k]) for k in ("pose_keypoints_2d", "hand_left_keypoints_2d", "face_keypoints_2d")] \
        == [75, 63, 210]
    assert len(second["face_keypoints_2d"]) == 210 and second["hand_left_keypoints_2d"] == []
    back = read_keypoints(path)
    assert [p.skeleton for p in back.people] == ["body25_hands_face", "body25_face"] and back.ids == [1, 2]
    np.testing.assert_allclose(back.people[0].points, pose.points, atol=1e-3)
    assert not back.people[1].points[-70:].any()  # a face not found: written as zeros, read back as missing
    first["face_keypoints_2d"] = []  # OpenPose run without --face: the same person, no face
    first["hand_left_keypoints_2d"] = first["hand_right_keypoints_2d"] = []
    path.write_text(json.dumps({"people": [first]}))
    assert read_keypoints(path).people[0].skeleton == "body25"
    first["face_keypoints_2d"] = [1.0, 2.0, 0.5]
    path.write_text(json.dumps({"people": [first]}))
    with pytest.raises(ValueError, match="f_keypoints.json: person 0: 'face_keypoints_2d' must be"):
        read_keypoints(path)


def test_the_face_is_drawn_thin_and_white_only_when_it_is_there():
    person = mediapipe_person(128, 128)
    with_face, without = attach_faces([person, person], [face_at(64, 17, 24), None])
    style = FigureStyle("body25_hands_face", thickness=8)
    drawn, bare = render_pose(with_face, (128, 128), style), render_pose(without, (128, 128), style)
    np.testing.assert_array_equal(bare, render_pose(person, (128, 128), FigureStyle("body25", thickness=8)))
    white = (drawn == 255).all(-1)
    assert white.sum() > 60 and not (bare == 255).all(-1).any()
    ys, xs = np.nonzero(white)
    assert 50 <= xs.mean() <= 78 and 8 <= ys.mean() <= 28  # around the head
    # A quarter of the limbs' width: 2 px (3-4 with its round ends) across the outline's left side,
    # at x = 52, where the body's limbs are 8.
    across = np.median(white[13:22, 46:58].sum(1))
    upper_arm = drawn[48, 72:100].any(-1).sum()  # the left upper arm, shoulder (79, 38) -> elbow (90, 58)
    assert 2 <= across <= 4 and upper_arm >= 8, (across, upper_arm)


def test_extract_with_a_face_figure_writes_openpose_face_lists(tmp_path):
    from pathlib import Path

    from pose_clips import astronaut_frames, write_clip
    from translate.cli import main

    clip = write_clip(Path(tmp_path / "src.mp4"), astronaut_frames(2, size=128), fps=8)
    assert main(["poses", "extract", str(clip), str(tmp_path / "ds"), "--figure", "body25_hands_face"]) == 0
    assert json.loads((tmp_path / "ds" / "figure.json").read_text())["skeleton"] == "body25_hands_face"
    for path in sorted((tmp_path / "ds" / "keypoints").glob("*.json")):
        (person,) = json.loads(path.read_text())["people"]
        face = np.array(person["face_keypoints_2d"]).reshape(-1, 3)
        assert face.shape == (70, 3) and (face[:, 2] == FOUND).all()  # her face, found in every frame
        nose = np.array(person["pose_keypoints_2d"]).reshape(-1, 3)[0]
        assert np.linalg.norm(face[30, :2] - nose[:2]) < 6
