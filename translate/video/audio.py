"""Carrying a source file's audio track into an output container.

Copying packets (remuxing) keeps the audio bit for bit and costs nothing, so it is
always the first choice. Only when the output container cannot hold the source's
codec (AAC into WebM, say) is the audio decoded and re-encoded, to AAC, or to Opus
where the container takes no AAC; that is announced, because it is lossy.

``copy_until(t)`` moves packets up to time ``t`` so the caller can interleave audio
with video as it encodes; ``finish()`` flushes an encoder and closes the source.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Optional

import av

Message = Callable[[str], None]
_REENCODE_TARGETS = ("aac", "libopus", "opus", "libvorbis", "mp3", "libmp3lame")


class AudioTrack:
    """The first audio stream of ``source`` being copied (or re-encoded) into ``output``."""

    def __init__(self, source, in_stream, output, out_stream, reencode: bool):
        self._source = source
        self._in = in_stream
        self._output = output
        self._out = out_stream
        self.reencode = reencode
        self._packets: Iterator = source.demux(in_stream)
        self._pending = None  # a packet read past the requested time, kept for the next call
        self._resampler = None
        self.packets_copied = 0
        self.problem: Optional[str] = None

    @classmethod
    def open(cls, source_path: Path, output, on_message: Message) -> Optional["AudioTrack"]:
        """An ``AudioTrack`` for ``source_path``'s first audio stream, or None if it has none."""
        try:
            source = av.open(str(source_path), "r")
        except av.error.FFmpegError as exc:
            on_message(f"{source_path}: cannot read audio ({exc}); writing video only")
            return None
        if not source.streams.audio:
            source.close()
            return None
        in_stream = source.streams.audio[0]
        codec = in_stream.codec_context.name
        supported = output.supported_codecs
        if codec in supported:
            return cls(source, in_stream, output, output.add_stream_from_template(in_stream), reencode=False)
        target = next((c for c in _REENCODE_TARGETS if c in supported and _has_encoder(c)), None)
        if target is None:
            on_message(f"{source_path}: {output.format.name} cannot hold {codec} audio and no audio encoder fits; "
                       f"writing video only")
            source.close()
            return None
        ctx = in_stream.codec_context
        rate = ctx.sample_rate if target not in ("libopus", "opus") else 48000  # Opus only runs at 48 kHz
        out_stream = output.add_stream(target, rate=rate)
        if ctx.layout is not None:
            try:
                out_stream.layout = ctx.layout.name
            except (ValueError, AttributeError):
                pass
        on_message(f"{output.format.name} cannot hold {codec} audio: re-encoding it to {target}")
        return cls(source, in_stream, output, out_stream, reencode=True)

    def copy_until(self, seconds: float) -> None:
        """Move every packet that starts before ``seconds`` into the output."""
        while True:
            packet = self._pending or self._next_packet()
            self._pending = None
            if packet is None:
                return
            if packet.pts is not None and packet.time_base is not None and float(packet.pts * packet.time_base) >= seconds:
                self._pending = packet
                return
            self._write(packet)

    def _next_packet(self):
        while True:
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            except av.error.FFmpegError as exc:
                self.problem = f"audio stopped early ({exc})"
                return None
            if packet.size:  # demux ends with an empty flush packet
                return packet

    def _write(self, packet) -> None:
        if not self.reencode:
            packet.stream = self._out
            self._output.mux(packet)
            self.packets_copied += 1
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            return  # a damaged audio packet: a short gap rather than no audio
        for frame in frames:
            self._encode(frame)

    def _encode(self, frame) -> None:
        ctx = self._out.codec_context
        if self._resampler is None:
            self._resampler = av.AudioResampler(format=ctx.format.name, layout=ctx.layout.name, rate=ctx.sample_rate,
                                                frame_size=ctx.frame_size or None)
        frames = self._resampler.resample(frame) if frame is not None else self._resampler.resample(None)
        for f in frames:
            for packet in self._out.encode(f):
                self._output.mux(packet)

    def finish(self) -> None:
        if self.reencode:
            if self._resampler is not None:
                self._encode(None)
            for packet in self._out.encode(None):
                self._output.mux(packet)
        self.close_source()

    def close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None


def _has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:  # noqa: BLE001 - UnknownCodecError and friends: not in this FFmpeg build
        return False
