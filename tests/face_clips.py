"""Test media with a real face: scikit-image's astronaut photo, moved and scaled over a plain frame."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from video_clips import _write_tone

# The astronaut's head and shoulders (her face is at about (177, 82, 95, 95) in the 512x512 photo).
_PORTRAIT = (slice(20, 260), slice(120, 340))


def portrait() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[_PORTRAIT])


def face_frame(index: int, width: int = 192, height: int = 160) -> np.ndarray:
    """Frame ``index``: the portrait on a grey-blue gradient, drifting right and growing slowly."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.stack([60 + 40 * xs / width, 80 + 30 * ys / height, 120 + 0 * xs], axis=-1).astype(np.uint8)
    scale = 0.5 + 0.01 * index
    face = cv2.resize(portrait(), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fh, fw = face.shape[:2]
    x, y = 20 + 2 * index, 10
    fh, fw = min(fh, height - y), min(fw, width - x)
    frame[y:y + fh, x:x + fw] = face[:fh, :fw]
    return frame


def make_face_video(path: Path, frames: int = 8, fps: int = 8, audio: bool = True,
                    width: int = 192, height: int = 160, draw=None) -> Path:
    """An H.264 clip of ``draw(index, width, height)`` frames (``face_frame`` by default)."""
    draw = draw or face_frame
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"crf": "12"}
        a = None
        if audio:
            a = out.add_stream("aac", rate=44100)
            a.layout = "mono"
        for i in range(frames):
            for packet in v.encode(av.VideoFrame.from_ndarray(draw(i, width, height), format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            _write_tone(out, a, frames / fps)
    return path


def two_faces_frame(index: int, width: int = 320, height: int = 160) -> np.ndarray:
    """Frame ``index``: two astronauts side by side, the left one mirrored and larger, both drifting
    slowly (the left one right, the right one left), so a clip has two faces to number and choose."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.stack([60 + 40 * xs / width, 80 + 30 * ys / height, 120 + 0 * xs], axis=-1).astype(np.uint8)
    for scale, x, mirror in ((0.6, 5 + index, True), (0.5, 190 - index, False)):
        face = portrait()[:, ::-1] if mirror else portrait()
        face = cv2.resize(np.ascontiguousarray(face), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fh, fw = min(face.shape[0], height - 10), min(face.shape[1], width - x)
        frame[10:10 + fh, x:x + fw] = face[:fh, :fw]
    return frame
