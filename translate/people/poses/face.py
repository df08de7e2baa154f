"""Every person's face as OpenPose's 70 face points: MediaPipe's face mesh (in the wheel) run on a
crop around each person's head.

Why the face: Everybody Dance Now's figures are OpenPose's BODY_25 with hands and face; a body
figure shows a face as a nose and two eyes, so the generator has to invent the jaw, the brows and
the mouth. Figures drawn in a ``*_face`` skeleton (``--figure body25_hands_face``) ask for it, so
extraction and transfer look for faces only then.

Whose face: the mesh runs on a square crop centred on each person's own head joints (nose, eyes,
ears of the body estimate, ``CROP`` times their spread), so several people each get their own
face and a face is never given to someone else's body. When a crop holds more than one face, the
one nearest the head's centre is taken. A person whose head joints are not seen, or in whose crop
the mesh finds no face (back turned, a face too small to find), keeps 70 missing points.

Which points: OpenPose's face order is the 68 points of the iBUG 300-W layout (dlib's) and then
the right and left pupils. ``MESH_INDEX`` names the face-mesh vertex for each; "right" is the
person's right, on the image's left. The mesh has no vertex list for dlib's points, so the table
is ours: it started from Peizhi Yan's published MediaPipe-to-dlib correspondence
(github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks, one or two vertices per point) and was checked
by drawing it on ``skimage.data.astronaut()`` and by fitting OpenFace's dlib mean face to it.
Changed from that table: one vertex per point (no averages); the jaw takes the face-oval vertex
nearest each mean-face point, which evens out its spacing (the published jaw leaves a gap between
points 4 and 5); the inner lips' 61, 63, 65 and 67 sit halfway between the corners and the middle
(81, 311, 402, 178) where the published ones lay beside the middle. The pupils are the iris centres
of the refined mesh (468 on the image's left, 473 on its right).

Confidence: the mesh gives no score per point, and the face-mesh solution does not expose the
score of the face it found; a face it returns has passed its detector at ``min_score``. So every
point of a found face gets ``FOUND`` (1.0) and every point of a face not found 0: the face is all
there or all missing, and ``--min-visibility`` (a threshold on the body model's visibility) leaves
it as the mesh found it.

Every crop is a still image to the mesh (``static_image_mode``): one graph sees the heads of all
people in turn, and tracking would carry one person's face into the next person's crop.
"""
from __future__ import annotations

import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np

from translate.people.mediapipe_compat import import_mediapipe

from .seen import DEFAULT_MIN_VISIBILITY
from .everyone_found import everyone_found
from .skeletons import FACE_POINTS, WITH_FACE, Pose

# The face-mesh vertex of each OpenPose face point, in OpenPose's order (the module docstring says
# where the table comes from and how it was checked).
JAW = (127, 234, 132, 58, 172, 150, 149, 148, 152, 377, 378, 379, 397, 288, 361, 454, 356)  # 0-16, right ear to left
RIGHT_BROW = (70, 63, 105, 66, 107)  # 17-21, outer end to inner
LEFT_BROW = (336, 296, 334, 293, 300)  # 22-26, inner end to outer
NOSE_BRIDGE = (168, 197, 5, 4)  # 27-30, between the eyes to the tip
LOWER_NOSE = (75, 97, 2, 326, 305)  # 31-35, right nostril wing to left
RIGHT_EYE = (33, 160, 158, 133, 153, 144)  # 36-41, outer corner, upper lid, inner corner, lower lid
LEFT_EYE = (362, 385, 387, 263, 373, 380)  # 42-47, inner corner, upper lid, outer corner, lower lid
OUTER_LIPS = (61, 39, 37, 0, 267, 269, 291, 321, 314, 17, 84, 91)  # 48-59, right corner, upper, left, lower
INNER_LIPS = (78, 81, 13, 311, 308, 402, 14, 178)  # 60-67, the same way round
PUPILS = (468, 473)  # 68 right, 69 left: iris centres of the refined mesh
MESH_INDEX = (JAW + RIGHT_BROW + LEFT_BROW + NOSE_BRIDGE + LOWER_NOSE + RIGHT_EYE + LEFT_EYE + OUTER_LIPS
              + INNER_LIPS + PUPILS)
MESH_POINTS = 478  # with refine_landmarks: 468 mesh vertices and 2 x 5 iris points

HEAD_JOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")  # in body25 and mediapipe33 alike
HEAD_SEEN = DEFAULT_MIN_VISIBILITY  # head joints the body model saw less surely do not place the crop
CROP = 3.0  # crop side / spread of the head joints: ear to ear is about a face's width, so the face
#             fills about a third of the crop (the mesh found the astronaut's so at 64 to 512 px)
FOUND = 1.0  # the confidence of every point of a found face (module docstring: why a constant)
MAX_FACES = 3  # faces the mesh may return from one crop; the one nearest the head is kept

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def head_box(pose: Pose) -> Optional[Box]:
    """A square around ``pose``'s head, ``CROP`` times the spread of its seen head joints; None
    when fewer than two are seen (one point gives no size)."""
    rows = np.array([pose.joint(name) for name in HEAD_JOINTS])
    seen = rows[rows[:, 2] >= HEAD_SEEN, :2]
    if len(seen) < 2:
        return None
    spread = float(np.ptp(seen, axis=0).max())
    if spread <= 0:
        return None
    cx, cy = seen.mean(0)
    half = CROP * spread / 2
    return (cx - half, cy - half, cx + half, cy + half)


def attach_faces(poses: Sequence[Pose], faces: Sequence[Optional[np.ndarray]]) -> List[Pose]:
    """Each of ``poses`` (a skeleton of ``WITH_FACE``) with its face (``70 x 3``: x, y in pixels,
    confidence) after its other points; None gives 70 missing points."""
    if len(faces) != len(poses):
        raise ValueError(f"{len(faces)} faces for {len(poses)} people")
    out = []
    for pose, face in zip(poses, faces):
        if pose.skeleton not in WITH_FACE:
            raise ValueError(f"a face attaches to {', '.join(WITH_FACE)} poses, not {pose.skeleton}")
        face = np.zeros((FACE_POINTS, 3), np.float32) if face is None else np.asarray(face, np.float32)
        out.append(Pose(WITH_FACE[pose.skeleton], np.concatenate([pose.points, face])))
    return out


class FaceLandmarks:
    """``face(rgb, box) -> 70 x 3 | None``: the face in ``box`` (pixels; it may reach past the
    frame) in OpenPose's face points, in frame pixels, or None when the mesh finds none there."""

    def __init__(self, min_score: float = 0.5):
        mp = import_mediapipe()
        with warnings.catch_warnings():  # MediaPipe's graph setup calls a protobuf API deprecated in 6.x
            warnings.simplefilter("ignore", DeprecationWarning)
            self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=MAX_FACES,
                                                         refine_landmarks=True, min_detection_confidence=min_score)

    def __call__(self, image: np.ndarray, box: Optional[Box]) -> Optional[np.ndarray]:
        if box is None:
            return None
        h, w = image.shape[:2]
        x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
        x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
        if x1 - x0 < 2 or y1 - y0 < 2:  # the head is outside the frame
            return None
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        found = self._mesh.process(crop).multi_face_landmarks or []
        faces = []
        for face in found:
            points = face.landmark
            if len(points) != MESH_POINTS:
                raise RuntimeError(f"the face mesh gave {len(points)} points, expected {MESH_POINTS} "
                                   f"(refine_landmarks adds the irises)")
            faces.append(np.array([[points[i].x * (x1 - x0) + x0, points[i].y * (y1 - y0) + y0, FOUND]
                                   for i in MESH_INDEX], np.float32))
        if not faces:
            return None
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        return min(faces, key=lambda f: float(np.linalg.norm(f[:68, :2].mean(0) - centre)))

    def close(self) -> None:
        self._mesh.close()


class WithFace:
    """A pose backend whose people also get their faces (``attach_faces``), in its skeleton's
    ``*_face`` form; it may wrap ``WithHands``, and then the face comes after the hands."""

    finds_everyone = True

    def __init__(self, backend, finder: Optional[FaceLandmarks] = None):
        if backend.skeleton not in WITH_FACE:
            raise ValueError(f"a face attaches to {', '.join(WITH_FACE)} poses, not {backend.skeleton}")
        self.backend, self.skeleton = backend, WITH_FACE[backend.skeleton]
        self.faces = finder if finder is not None else FaceLandmarks()

    def estimate_all(self, image: np.ndarray) -> List[Pose]:
        poses = everyone_found(self.backend, image)
        return attach_faces(poses, [self.faces(image, head_box(pose)) for pose in poses])

    def estimate(self, image: np.ndarray) -> Optional[Pose]:
        found = self.estimate_all(image)
        return found[0] if found else None

    def close(self) -> None:
        self.backend.close()
        self.faces.close()
