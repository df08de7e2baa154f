"""Body poses: skeleton formats, OpenPose JSON, smoothing, stick figures, normalisation, estimation.

Every pose is a ``Pose`` (a skeleton name and a (joints, 3) array of x, y in pixels and a
confidence). Skeletons live in the ``SKELETONS`` registry (mediapipe33, body25, coco18, and
body25_hands / mediapipe33_hands with 21 points a hand, found by ``hands.py``; ``*_face`` ones
such as body25_hands_face add OpenPose's 70 face points, found by ``face.py`` with MediaPipe's
face mesh) and ``convert`` maps between them by joint name, so a figure is drawn the same way
whichever estimator or file produced the keypoints. The MediaPipe estimator is imported lazily (it needs
the ``people`` extra); everything else is numpy and OpenCV.
"""
from .skeletons import SKELETONS, Pose, Skeleton, convert, skeleton_for_count  # noqa: F401
