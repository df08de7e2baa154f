"""Reading video files with PyAV: probe, then stream upright RGB frames with their timestamps.

Why frames carry their own ``pts``: variable-frame-rate files (phones, screen
recordings) have no single frame duration, so the writer re-uses each input frame's
timestamp instead of assuming ``1/fps``. Frame count and timing then survive
translation unchanged for constant and variable frame rates alike.

Why rotation is applied here: phones store portrait video as landscape pixels plus a
display matrix. A model trained on upright photos must see upright frames, so the
reader rotates each frame by the matrix and the output is written upright (without
a matrix): it plays the same way as the input everywhere.

A damaged file is decoded as far as it goes: the reader stops at the first demuxer
error (skipping single packets the decoder rejects) and records in ``problem`` where
it stopped, so the caller can translate what decoded and still report a failure.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Tuple

import av
import numpy as np

from translate.errors import TranslateError

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"})


class VideoError(TranslateError, ValueError):
    """A video that cannot be translated at all. ``str()`` is one line: "PATH: reason"."""

    def __init__(self, path: "str | os.PathLike", reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


def is_video_file(path: "str | os.PathLike") -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int
    duration: float  # seconds; 0.0 when the container does not say


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # upright (after rotation), before any resize
    height: int
    rotation: int  # degrees counter-clockwise that bring the stored pixels upright
    fps: Fraction  # average frame rate
    time_base: Fraction
    frames: int  # as declared by the container; 0 when unknown
    duration: float  # video stream duration in seconds; 0.0 when unknown
    codec: str
    audio: Optional[AudioInfo]

    @property
    def expected_frames(self) -> int:
        """The declared frame count, else an estimate from duration x fps (0 if neither is known)."""
        if self.frames:
            return self.frames
        return int(round(self.duration * float(self.fps))) if self.duration else 0


@dataclass
class Frame:
    image: np.ndarray  # uint8 HxWx3 RGB, upright
    pts: int  # in ``time_base`` units
    time: float  # seconds
    index: int  # position in the decoded stream


def _open(path: Path):
    if not path.exists():
        raise VideoError(path, "no such file")
    try:
        return av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(path, f"cannot open as a video (unknown container, or corrupt header: {exc})") from None


def _is_still_image(container) -> bool:
    """FFmpeg opens a PNG or JPEG as a one-frame "video" (its image2 and *_pipe demuxers); a
    video suffix on a still image is a mistake to name, not a clip to encode."""
    names = container.format.name.split(",")
    return any(name == "image2" or name.endswith("_pipe") for name in names)


def _seconds(value, time_base) -> float:
    return float(value * time_base) if value is not None and time_base is not None else 0.0


def _stream_duration(stream) -> float:
    seconds = _seconds(stream.duration, stream.time_base)
    if seconds:
        return seconds
    # Matroska/WebM keep per-track durations as a "DURATION" tag (HH:MM:SS.nnnnnnnnn).
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag and tag.count(":") == 2:
        try:
            h, m, s = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        except ValueError:
            return 0.0
    return 0.0


def _first_rotation(container, stream) -> int:
    try:
        frame = next(container.decode(stream))
    except (StopIteration, av.error.FFmpegError):
        return 0
    return _normalise_rotation(getattr(frame, "rotation", 0) or 0)


def _normalise_rotation(degrees: float) -> int:
    return int(round(degrees / 90.0)) % 4 * 90


def probe(path: "str | os.PathLike") -> VideoInfo:
    """Read a video's header (and its first frame, for the rotation). Raises ``VideoError``."""
    path = Path(path)
    with _open(path) as container:
        if _is_still_image(container):
            raise VideoError(path, f"is a still image ({container.format.name}), not a video; give it an image "
                                   f"suffix to translate it as one")
        if not container.streams.video:
            raise VideoError(path, "has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise VideoError(path, "video stream has no frame size (corrupt header?)")
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        audio = None
        if container.streams.audio:
            a = container.streams.audio[0]
            duration = _stream_duration(a) or _seconds(container.duration, Fraction(1, av.time_base))
            audio = AudioInfo(a.codec_context.name, a.codec_context.sample_rate or 0,
                              a.codec_context.channels or 0, duration)
        duration = _stream_duration(stream)
        if not duration and not container.streams.audio:
            duration = _seconds(container.duration, Fraction(1, av.time_base))
        rotation = _first_rotation(container, stream)
        w, h = (ctx.height, ctx.width) if rotation in (90, 270) else (ctx.width, ctx.height)
        return VideoInfo(path, w, h, rotation, Fraction(fps), Fraction(stream.time_base or Fraction(1, 90000)),
                         int(stream.frames or 0), duration, ctx.name, audio)


def even_size(width: int, height: int, long_side: Optional[int]) -> Tuple[int, int]:
    """The size frames are translated at: ``long_side`` on the long edge (rounded to even, as 4:2:0 needs)."""
    if not long_side:
        return width, height
    scale = long_side / max(width, height)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


class VideoReader:
    """Iterate a video's frames as upright RGB ``Frame``s; stops early, never raises mid-stream.

    After iteration ``frames_read`` says how many frames decoded and ``problem`` is None for a
    complete stream, else one line saying where and why decoding stopped.
    """

    def __init__(self, path: "str | os.PathLike", size: Optional[Tuple[int, int]] = None,
                 info: Optional[VideoInfo] = None):
        self.path = Path(path)
        self.info = info or probe(self.path)
        self.size = size  # upright (width, height) to resize to, or None
        self.frames_read = 0
        self.bad_packets = 0
        self.problem: Optional[str] = None

    def __iter__(self) -> Iterator[Frame]:
        info = self.info
        with _open(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame + slice threads: decode keeps up with the model
            time_base = info.time_base
            step = max(1, round(1 / (info.fps * time_base))) if info.fps else 1
            last_pts: Optional[int] = None
            last_time = 0.0
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError as exc:
                    self.problem = f"stopped after frame {self.frames_read} ({last_time:.2f} s): {exc}"
                    break
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    self.bad_packets += 1  # one damaged packet: skip it, the decoder resyncs on the next
                    continue
                for frame in decoded:
                    pts = frame.pts if frame.pts is not None else (last_pts + step if last_pts is not None else 0)
                    if last_pts is not None and pts <= last_pts:
                        pts = last_pts + 1  # keep timestamps strictly increasing for the muxer
                    last_pts, last_time = pts, float(pts * time_base)
                    yield Frame(self._upright(frame), pts, last_time, self.frames_read)
                    self.frames_read += 1
        if self.frames_read == 0:
            raise VideoError(self.path, self.problem or "no video frames could be decoded")
        self._check_complete(last_time)

    def _upright(self, frame) -> np.ndarray:
        rotation = _normalise_rotation(getattr(frame, "rotation", 0) or 0)
        if self.size is not None:
            w, h = self.size if rotation in (0, 180) else self.size[::-1]
            # swscale resizes in the decode thread, on the smaller YUV planes, before RGB conversion.
            image = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation="AREA")
        else:
            image = frame.to_ndarray(format="rgb24")
        if rotation:
            image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
        return image

    def _check_complete(self, last_time: float) -> None:
        if self.problem:
            return
        info = self.info
        if self.bad_packets:
            self.problem = f"{self.bad_packets} damaged packet(s) skipped; {self.frames_read} frame(s) decoded"
        elif info.frames and self.frames_read < info.frames:
            self.problem = (f"stopped after frame {self.frames_read} of {info.frames} "
                            f"({last_time:.2f} s): file truncated or damaged")
        elif info.duration and last_time + 2.0 / float(info.fps or 25) < info.duration:
            self.problem = (f"stopped after frame {self.frames_read} ({last_time:.2f} s of "
                            f"{info.duration:.2f} s): file truncated or damaged")

