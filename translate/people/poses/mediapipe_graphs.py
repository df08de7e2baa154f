"""MediaPipe's person detector and pose landmark model as two graphs, so that several people can be posed.

MediaPipe Pose (``mp.solutions.pose``) follows one person: its graph keeps the first detection
and tracks that one region. The 0.10.14 wheel carries both models it runs and registers the
subgraphs that run them, so we build two tiny graphs from them instead of writing inference:
  * ``PoseDetectionCpu``: the BlazePose detector (``pose_detection.tflite``), which returns
    *every* person above its score threshold. It is anchored on the face: each detection has a
    face box and two alignment points, the hip centre and a point on the circle around the body.
  * ``PoseLandmarkByRoiCpu``: the 33-landmark model (``pose_landmark_full.tflite``) on a given
    region; nothing comes back when its pose-presence score is below the threshold, and its two
    auxiliary landmarks are the alignment points of the person's next region.
Neither downloads anything: both models are files of the wheel.

The region from two alignment points (``region``) is written here because the region crosses
from one graph to the other through Python; it is the formula of MediaPipe's own
``pose_detection_to_roi`` and ``pose_landmarks_to_roi`` graphs (AlignmentPointsRectsCalculator:
a square centred on the hip centre, twice the circle's radius, rotated so the body is upright;
RectTransformationCalculator: scaled by 1.25).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

Point = Tuple[float, float]  # normalised x, y of a frame (0..1)

_DETECTOR = """
input_stream: "image"
output_stream: "detections"
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
"""
_LANDMARKS = """
input_stream: "image"
input_stream: "roi"
input_side_packet: "model_complexity"
output_stream: "landmarks"
output_stream: "alignment"
node { calculator: "PoseLandmarkByRoiCpu" input_side_packet: "MODEL_COMPLEXITY:model_complexity"
       input_stream: "IMAGE:image" input_stream: "ROI:roi"
       output_stream: "LANDMARKS:landmarks" output_stream: "AUXILIARY_LANDMARKS:alignment" }
"""
# Option paths as mp.solutions.pose sets them on the same subgraphs.
_DETECTION_THRESHOLD = "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh"
_PRESENCE_THRESHOLD = "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold"
SCALE = 1.25  # the region around the body circle, as MediaPipe's graphs draw it
MODEL_COMPLEXITY = 1  # the only landmark model the wheel carries (0 and 2 would be downloaded)


@dataclass(frozen=True)
class Region:
    """A square region around one person: centre and side in pixels, rotation in radians."""

    cx: float
    cy: float
    side: float
    rotation: float

    def as_proto(self, width: int, height: int):
        from mediapipe.framework.formats import rect_pb2

        return rect_pb2.NormalizedRect(x_center=self.cx / width, y_center=self.cy / height, width=self.side / width,
                                       height=self.side / height, rotation=self.rotation)


def region(hip: Point, circle: Point, width: int, height: int) -> Region:
    """The region of a person whose alignment points are ``hip`` and ``circle`` (normalised)."""
    x0, y0, x1, y1 = hip[0] * width, hip[1] * height, circle[0] * width, circle[1] * height
    radius = math.hypot(x1 - x0, y1 - y0)
    rotation = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rotation -= 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))  # into [-pi, pi)
    return Region(x0, y0, 2 * radius * SCALE, rotation)


@dataclass(frozen=True)
class Detection:
    """One person found by the detector: score, face box (pixels) and their region."""

    score: float
    face: Tuple[float, float, float, float]
    region: Region

    def shows(self, points: np.ndarray, margin: float = 1.0) -> bool:
        """Whether this detection is the person posed as ``points`` (mediapipe33, pixels): their nose
        lies in the face box, widened by ``margin`` of its size each side. Regions cannot tell:
        two people side by side have regions that overlap by most of their size."""
        x0, y0, x1, y1 = self.face
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        x, y = points[0, :2]  # the nose, first of MediaPipe's landmarks
        return bool(x0 - mx <= x <= x1 + mx and y0 - my <= y <= y1 + my)


def _solution(graph: str, **kwargs):
    from google.protobuf import text_format

    from translate.people.mediapipe_compat import import_mediapipe

    import_mediapipe()
    from mediapipe.framework import calculator_pb2
    from mediapipe.python.solution_base import SolutionBase

    config = text_format.Parse(graph, calculator_pb2.CalculatorGraphConfig())
    with warnings.catch_warnings():  # its graph setup uses a protobuf call protobuf 6 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        return SolutionBase(graph_config=config, **kwargs)


class PersonDetector:
    """The BlazePose detector on an RGB image (or a window of one): every person above ``threshold``."""

    def __init__(self, threshold: float):
        self._graph = _solution(_DETECTOR, outputs=["detections"], calculator_params={_DETECTION_THRESHOLD: threshold})

    def detect(self, image: np.ndarray, offset: Tuple[int, int] = (0, 0),
               frame: Optional[Tuple[int, int]] = None) -> List[Detection]:
        """People in ``image``; with ``offset`` and ``frame`` (width, height), ``image`` is a window
        of a larger frame at ``offset`` and the boxes and regions are given in the frame's pixels."""
        h, w = image.shape[:2]
        fw, fh = frame or (w, h)
        ox, oy = offset
        found = self._graph.process({"image": np.ascontiguousarray(image)}).detections or []
        out = []
        for d in found:
            box, points = d.location_data.relative_bounding_box, d.location_data.relative_keypoints
            face = (ox + box.xmin * w, oy + box.ymin * h, ox + (box.xmin + box.width) * w,
                    oy + (box.ymin + box.height) * h)
            hip = ((ox + points[0].x * w) / fw, (oy + points[0].y * h) / fh)
            circle = ((ox + points[1].x * w) / fw, (oy + points[1].y * h) / fh)
            out.append(Detection(float(d.score[0]), face, region(hip, circle, fw, fh)))
        return out

    def close(self) -> None:
        self._graph.close()


@dataclass
class Landmarks:
    """The 33 landmarks of one person (pixels, with visibility) and their region in the next frame."""

    points: np.ndarray  # (33, 3)
    next_region: Region


class LandmarkModel:
    """The pose landmark model on one person's region of an RGB frame; None when nobody is there."""

    def __init__(self, presence: float):
        self._graph = _solution(_LANDMARKS, outputs=["landmarks", "alignment"],
                                side_inputs={"model_complexity": MODEL_COMPLEXITY},
                                calculator_params={_PRESENCE_THRESHOLD: presence})

    def landmarks(self, image: np.ndarray, where: Region) -> Optional[Landmarks]:
        h, w = image.shape[:2]
        out = self._graph.process({"image": image, "roi": where.as_proto(w, h)})
        if out.landmarks is None or out.alignment is None:
            return None
        points = np.array([(lm.x * w, lm.y * h, confidence(lm)) for lm in out.landmarks.landmark], np.float32)
        hip, circle = out.alignment.landmark[0], out.alignment.landmark[1]
        return Landmarks(points, region((hip.x, hip.y), (circle.x, circle.y), w, h))

    def close(self) -> None:
        self._graph.close()


def confidence(landmark) -> float:
    if landmark.HasField("presence"):  # a joint must be both in the picture and unhidden
        return min(landmark.visibility, landmark.presence)
    return landmark.visibility
