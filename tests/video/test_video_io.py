"""Reading and writing video: probe, rotation, timestamps, audio copy, damaged and odd inputs."""
from fractions import Fraction

import av
import numpy as np
import pytest

from translate.video.encode import VideoWriter, choose_encoder
from translate.video.io import VideoError, VideoReader, probe
from video_clips import make_video, read_back


def test_probe_reads_size_rate_count_and_audio(tmp_path):
    info = probe(make_video(tmp_path / "a.mp4", frames=24, width=64, height=48, fps=24))
    assert (info.width, info.height, info.fps, info.frames, info.rotation) == (64, 48, 24, 24, 0)
    assert info.audio is not None and info.audio.codec == "aac" and info.audio.duration == pytest.approx(1.0, abs=0.05)


def test_rotation_is_applied_so_frames_come_out_upright(tmp_path):
    path = make_video(tmp_path / "portrait.mp4", frames=3, rotation=90, audio=None)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    frames = list(VideoReader(path))
    stored = read_back(path)[0][0]  # the pixels as stored, 64 wide
    assert frames[0].image.shape == (64, 48, 3)
    assert np.abs(frames[0].image.astype(int) - np.rot90(stored).astype(int)).max() <= 1


def test_writer_keeps_variable_frame_rate_timestamps_and_copies_audio_packets(tmp_path):
    tb = Fraction(1, 1000)
    pts = [0, 40, 80, 200, 240, 400, 440, 480]  # irregular gaps: a variable-frame-rate clip
    src = make_video(tmp_path / "vfr.mkv", frames=len(pts), fps=25, pts=pts, time_base=tb, audio_seconds=0.5)
    info = probe(src)
    out = tmp_path / "out.mkv"
    writer = VideoWriter(out, info.time_base, info.fps, audio_from=src)
    for frame in VideoReader(src, info=info):
        writer.write(255 - frame.image, frame.pts)
    writer.close()
    images, got_pts, _, audio_seconds, audio_codec = read_back(out)
    assert got_pts == pts and len(images) == len(pts)
    assert audio_codec == "aac" and audio_seconds == pytest.approx(0.5, abs=0.05)
    with av.open(str(src)) as a, av.open(str(out)) as b:  # copied bit for bit, not re-encoded
        src_audio = [bytes(p) for p in a.demux(audio=0) if p.size]
        out_audio = [bytes(p) for p in b.demux(audio=0) if p.size]
    assert out_audio == src_audio[:len(out_audio)] and len(out_audio) >= len(src_audio) - 1


def test_missing_encoder_falls_back_with_a_message():
    messages = []
    codec = choose_encoder(".mp4", 64, 48, Fraction(24), None, {"mpeg4", "h264"}, messages.append)
    assert codec == "mpeg4" and "libx264 is not available" in messages[0]
    with pytest.raises(VideoError, match="no usable video encoder"):
        choose_encoder(".mp4", 64, 48, Fraction(24), None, set(), messages.append)


def test_unknown_container_and_missing_video_are_one_line_errors(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video at all" * 20)
    with pytest.raises(VideoError, match="garbage.mp4: cannot open"):
        probe(garbage)
    audio_only = tmp_path / "audio_only.mkv"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in list(stream.encode(frame)) + list(stream.encode()):
            out.mux(packet)
    with pytest.raises(VideoError, match="has no video stream"):
        probe(audio_only)
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "absent.mp4")


def test_zero_frames_is_an_error(tmp_path):
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    with pytest.raises(VideoError) as excinfo:
        list(VideoReader(empty))
    assert "empty.mkv" in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_truncated_video_yields_what_decodes_and_says_where_it_stopped(tmp_path):
    src = make_video(tmp_path / "whole.mkv", frames=48, audio=None)
    data = src.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 3 // 4])  # past the first keyframe, short of the end
    reader = VideoReader(cut)
    frames = list(reader)
    assert 0 < len(frames) < 48
    assert reader.problem and "stopped after frame" in reader.problem
    whole = VideoReader(src)
    assert len(list(whole)) == 48 and whole.problem is None
