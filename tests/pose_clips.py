"""Pose clips shared by the pose2frame, face-stage, dance and extract tests (made here, tiny)."""
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from translate.config import resolve
from translate.people.poses.render import render_pose
from translate.people.poses.skeletons import Pose, skeleton
from translate.registry import TRANSLATORS
from video_clips import _write_tone


TINY = ["ngf=8", "ndf=4", "n_downsample_global=2", "n_blocks_global=1", "n_layers_d=2", "lambda_perceptual=0"]


def walker(t, size=32):
    """A coco18 figure whose arms swing with time t."""
    s = skeleton("coco18")
    p = np.zeros((18, 3), np.float32)
    c = size / 2
    at = {"nose": (c, 5), "neck": (c, 9), "right_shoulder": (c - 5, 9), "left_shoulder": (c + 5, 9),
          "right_hip": (c - 3, 19), "left_hip": (c + 3, 19), "right_knee": (c - 4, 24), "left_knee": (c + 4, 24),
          "right_ankle": (c - 4, 29), "left_ankle": (c + 4, 29),
          "right_wrist": (c - 8, 12 + 4 * np.sin(t)), "left_wrist": (c + 8, 12 - 4 * np.sin(t)),
          "right_elbow": (c - 7, 11), "left_elbow": (c + 7, 11), "right_eye": (c - 1.5, 4), "left_eye": (c + 1.5, 4),
          "right_ear": (c - 3, 5), "left_ear": (c + 3, 5)}
    for name, (x, y) in at.items():
        p[s.index[name]] = (x, y, 1)
    return Pose("coco18", p)


@pytest.fixture
def dancer(tmp_path):
    """train_A figures and train_B 'frames' (a body-coloured blob along the figure) for 6 frames."""
    root = tmp_path / "dancer"
    (root / "train_A").mkdir(parents=True)
    (root / "train_B").mkdir()
    for i in range(6):
        figure = render_pose(walker(i * 0.8), (32, 32))
        frame = np.full_like(figure, 40)
        frame[cv2.dilate((figure.max(-1) > 0).astype(np.uint8), np.ones((3, 3))) > 0] = (220, 180, 150)
        cv2.imwrite(str(root / "train_A" / f"clip_{i:06d}.png"), figure[..., ::-1])
        cv2.imwrite(str(root / "train_B" / f"clip_{i:06d}.png"), frame[..., ::-1])
    (root / "figure.json").write_text(json.dumps({"skeleton": "coco18", "mode": "colour", "min_confidence": 0.3,
                                                  "thickness": None, "smooth": 5}))
    return root


def _run(data, tmp_path, extra=(), **cli):
    values = {"data": str(data), "name": "dancer", "checkpoints_dir": str(tmp_path / "ck"), "size": 32,
              "num_workers": 0, "precision": "fp32", "tensorboard": False, "log_every": 1, "flip": False, **cli}
    return resolve("pose2frame", TRANSLATORS.get("pose2frame").Options(), cli_values=values,
                   set_pairs=TINY + list(extra))


def _batch(run):
    ds = TRANSLATORS.get("pose2frame").build_dataset(run)
    items = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([it[k] for it in items]) for k in items[0] if isinstance(items[0][k], torch.Tensor)}


def astronaut_frames(count, size=64, blank=()):
    """The astronaut sliding 1 px right per frame; indices in ``blank`` are empty black frames."""
    base = cv2.resize(skimage.data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    return [np.zeros_like(base) if i in blank else np.roll(base, i, axis=1) for i in range(count)]


def write_clip(path: Path, frames, fps=8, audio=True) -> Path:
    """Encode RGB frames (H.264) with an optional sine-tone AAC track as long as the video."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = None
        if audio:
            a = out.add_stream("aac", rate=44100)
            a.layout = "mono"
        for image in frames:
            for packet in v.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            _write_tone(out, a, len(frames) / fps)
    return path


def stick(x, ankle_y, height, conf=1.0):
    """A coco18 pose with nose ``height`` px above both ankles at ``ankle_y``."""
    s = skeleton("coco18")
    points = np.zeros((18, 3), np.float32)
    points[s.index["nose"]] = (x, ankle_y - height, conf)
    points[s.index["neck"]] = (x, ankle_y - 0.8 * height, conf)
    points[s.index["left_ankle"]] = (x + 3, ankle_y, conf)
    points[s.index["right_ankle"]] = (x - 3, ankle_y, conf)
    return Pose("coco18", points)


def two_astronauts(count, size=128, blank_right=()):
    """The astronaut and her mirror image side by side (two people, waist up) in a size*2 x size frame,
    drifting 1 px apart per frame; frames in ``blank_right`` show only the left one."""
    one = cv2.resize(skimage.data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        left, right = np.roll(one, -i, axis=1), np.roll(one[:, ::-1], i, axis=1)
        frames.append(np.concatenate([left, np.zeros_like(right) if i in blank_right else right], 1))
    return frames
