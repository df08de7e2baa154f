"""Writing translated frames to a video file with PyAV, plus the source's audio.

The encoder is chosen from what the local FFmpeg actually has and what the
container accepts: H.264 (libx264) for mp4/mov/mkv/avi, VP9 for webm; when the
preferred one is missing or fails to open, the next one is used and the choice is
said out loud (``on_message``). Frames keep the timestamps they had in the input
(so constant and variable frame rates both survive), and the audio goes through
``translate.video.audio`` (copied packet for packet where the container allows).

``VideoWriter`` opens its streams lazily on the first frame: the frame size is only
known once the first frame has been translated (``--size``, side-by-side).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import av
import numpy as np

from translate.video.audio import AudioTrack
from translate.video.io import VideoError

Message = Callable[[str], None]

# Preferred encoders per container suffix, best first. Quality/speed options per encoder:
# crf keeps quality constant; libx264's "veryfast" preset keeps encoding off the critical path
# (it costs file size, not quality, at a given crf).
_PREFERENCES: Dict[str, Tuple[str, ...]] = {
    ".webm": ("libvpx-vp9", "libvpx", "libaom-av1"),
    "default": ("libx264", "libopenh264", "mpeg4", "mjpeg"),
}
_CRF_CODECS = {"libx264", "libvpx-vp9", "libvpx", "libaom-av1"}


def _encoder_options(codec: str, crf: int) -> Dict[str, str]:
    opts: Dict[str, str] = {}
    if codec in _CRF_CODECS:
        opts["crf"] = str(crf)
    if codec == "libx264":
        opts["preset"] = "veryfast"
    elif codec in ("libvpx-vp9", "libvpx"):
        opts.update({"deadline": "realtime", "cpu-used": "8", "b": "0", "row-mt": "1"})
    return opts


def _pix_fmt(codec: str, width: int, height: int) -> str:
    if codec == "mjpeg":
        return "yuvj420p"
    # 4:2:0 halves chroma in both directions, so odd sizes need 4:4:4 (libx264 supports it).
    if (width % 2 or height % 2) and codec == "libx264":
        return "yuv444p"
    return "yuv420p"


def _opens(codec: str, width: int, height: int, rate: Fraction) -> bool:
    """Whether this FFmpeg can really open ``codec`` at this size (listed is not the same as usable)."""
    try:
        ctx = av.CodecContext.create(codec, "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, _pix_fmt(codec, width, height)
        ctx.time_base = 1 / rate
        ctx.open()
        return True
    except (av.error.FFmpegError, ValueError, OSError, av.codec.codec.UnknownCodecError):
        return False


def choose_encoder(suffix: str, width: int, height: int, rate: Fraction, requested: Optional[str],
                   supported: Sequence[str], on_message: Message) -> str:
    """The first encoder that the container accepts and this FFmpeg opens; say so when it is not the first."""
    candidates = (requested,) if requested else _PREFERENCES.get(suffix.lower(), _PREFERENCES["default"])
    for i, codec in enumerate(candidates):
        if codec in supported and _opens(codec, width, height, rate):
            if i > 0:
                on_message(f"{candidates[0]} is not available here; encoding with {codec}")
            return codec
    wanted = requested or "/".join(candidates)
    raise VideoError(suffix or "output", f"no usable video encoder ({wanted}) for {suffix or 'this'} files "
                                         f"in this FFmpeg build")


class VideoWriter:
    """Encode RGB frames with their timestamps; open with the first frame, close to flush."""

    def __init__(self, path: Path, time_base: Fraction, fps: Fraction, audio_from: Optional[Path] = None,
                 codec: Optional[str] = None, crf: int = 18, on_message: Message = lambda m: None,
                 audio_until: Optional[float] = None):
        self.path = Path(path)
        self.time_base, self.fps = Fraction(time_base), Fraction(fps)
        self.audio_from, self.requested, self.crf = audio_from, codec, crf
        self.on_message = on_message
        self.audio_until = audio_until
        self.container = None
        self.stream = None
        self.audio: Optional[AudioTrack] = None
        self.codec = ""
        self.frames_written = 0
        self.last_time = 0.0

    def _open(self, width: int, height: int) -> None:
        self.container = av.open(str(self.path), "w")
        supported = self.container.supported_codecs
        self.codec = choose_encoder(self.path.suffix, width, height, self.fps, self.requested, supported,
                                    self.on_message)
        stream = self.container.add_stream(self.codec, rate=self.fps, options=_encoder_options(self.codec, self.crf))
        stream.width, stream.height = width, height
        stream.pix_fmt = _pix_fmt(self.codec, width, height)
        # The input's own time base, so input timestamps (VFR included) carry over exactly.
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        stream.thread_type = "AUTO"
        self.stream = stream
        if self.audio_from is not None:
            self.audio = AudioTrack.open(self.audio_from, self.container, self.on_message)

    def write(self, image: np.ndarray, pts: int) -> None:
        if self.container is None:
            self._open(image.shape[1], image.shape[0])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts, frame.time_base = int(pts), self.time_base
        self.last_time = float(pts * self.time_base)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames_written += 1
        if self.audio is not None:
            # Interleave: audio up to this frame's time, so the muxer never buffers a whole track.
            self.audio.copy_until(self.last_time)

    def close(self) -> None:
        """Flush the encoder and the rest of the audio (up to the video's end), then close the file."""
        if self.container is None:
            return
        for packet in self.stream.encode():
            self.container.mux(packet)
        if self.audio is not None:
            end = self.last_time + float(1 / self.fps) if self.audio_until is None else self.audio_until
            self.audio.copy_until(end)
            self.audio.finish()
        self.container.close()
        self.container = None

    def abort(self) -> None:
        """Close without caring about the file (it is a temporary that will be deleted)."""
        if self.audio is not None:
            self.audio.close_source()
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                pass
            self.container = None
