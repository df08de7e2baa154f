"""Small test videos made with PyAV: moving smooth colour patterns plus a sine-tone audio track."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import av
import numpy as np


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """A smooth colour pattern that slides right by 1 px per frame (optical flow has something to find)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs = xs - index
    r = 127 + 100 * np.sin(xs / 7.0)
    g = 127 + 100 * np.cos(ys / 5.0 + xs / 11.0)
    b = 127 + 100 * np.sin((xs + ys) / 9.0)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def make_video(path: Path, frames: int = 24, width: int = 64, height: int = 48, fps: int = 24,
               audio: Optional[str] = "aac", audio_seconds: Optional[float] = None, codec: Optional[str] = None,
               rotation: int = 0, pts: Optional[Sequence[int]] = None, time_base: Optional[Fraction] = None) -> Path:
    """Write a clip; ``pts`` (in ``time_base`` units) makes a variable-frame-rate one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or ("libvpx-vp9" if path.suffix == ".webm" else "libx264")
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        if time_base is not None:
            v.time_base = time_base
            v.codec_context.time_base = time_base
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio:
            a = out.add_stream(audio, rate=48000 if audio in ("libopus", "opus") else 44100)
            a.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            _write_tone(out, a, audio_seconds if audio_seconds is not None else frames / fps)
    return path


def _write_tone(out, stream, seconds: float) -> None:
    rate = stream.codec_context.sample_rate
    n = int(rate * seconds)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
    fmt = stream.codec_context.format.name
    resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate, frame_size=stream.codec_context.frame_size or None)
    for start in range(0, n, 1024):
        chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = rate, start
        for f in resampler.resample(chunk):
            for packet in stream.encode(f):
                out.mux(packet)
    for f in resampler.resample(None):
        for packet in stream.encode(f):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def read_back(path: Path):
    """(frames as RGB arrays, video pts list, fps, audio duration in seconds or None, audio codec)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        images, pts = [], []
        for frame in c.decode(v):
            images.append(frame.to_ndarray(format="rgb24"))
            pts.append(frame.pts)
        fps = v.average_rate
        if not c.streams.audio:
            return images, pts, fps, None, None
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        samples = sum(f.samples for f in c.decode(a))
        return images, pts, fps, samples / a.codec_context.sample_rate, a.codec_context.name
