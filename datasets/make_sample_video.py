"""Make the demo's sample video offline: a slow pan and zoom over a held-out photo, with a tone.

Writes datasets/samples/coffee_pan.mp4 (H.264 + AAC, 48 frames at 24 fps, 256x192), a real
photo in motion so `make demo` shows video translation with its audio kept.
"""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

from translate.fileio import atomic_path


def frames(count: int, width: int, height: int):
    photo = data.coffee()  # 400x600 RGB, held out from the demo's training split
    h, w = photo.shape[:2]
    for i in range(count):
        t = i / max(1, count - 1)
        zoom = 1.0 + 0.35 * t
        cw, ch = int(w / zoom * 0.8), int(h / zoom * 0.8)
        x0 = int((w - cw) * (0.2 + 0.6 * t))
        y0 = int((h - ch) * 0.5)
        crop = photo[y0:y0 + ch, x0:x0 + cw]
        yield cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


def write(path: Path, count: int = 48, width: int = 256, height: int = 192, fps: int = 24) -> Path:
    with atomic_path(path) as tmp, av.open(str(tmp), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "23"}
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "mono"
        for image in frames(count, width, height):
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        samples = np.arange(int(44100 * count / fps)) / 44100
        tone = (0.2 * np.sin(2 * np.pi * 440 * samples)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = tone[start:start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = start
            frame.time_base = Fraction(1, 44100)
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(Path(__file__).parent / "samples" / "coffee_pan.mp4"))
    args = parser.parse_args(argv)
    print(f"wrote {write(Path(args.out))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
