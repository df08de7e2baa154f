"""The streaming pipeline: bounded read-ahead, concurrent stages, errors stop everything, fps resampling."""
import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from translate.apply import video as pipeline
from translate.video.io import Frame
from translate.apply.video import VideoOptions, resample, translate_video
from video_clips import make_video, read_back


class _SlowIdentity:
    """A stand-in FrameTranslator: slow, and records how far decoding has run ahead of it."""

    def __init__(self, counter):
        self.counter = counter
        self.leads = []
        self.threads = set()
        self.done = 0

    def __call__(self, frames):
        self.leads.append(self.counter["read"] - self.done)
        time.sleep(0.02)
        self.done += len(frames)
        return [255 - f for f in frames]


def test_decoding_runs_ahead_in_its_own_thread_but_only_as_far_as_the_queues_allow(tmp_path, monkeypatch):
    src = make_video(tmp_path / "long.mp4", frames=60, audio=None)
    counter = {"read": 0}
    decode_threads = set()
    real_iter = pipeline.VideoReader.__iter__

    def counting_iter(self):
        for frame in real_iter(self):
            counter["read"] += 1
            decode_threads.add(threading.current_thread().name)
            yield frame

    monkeypatch.setattr(pipeline.VideoReader, "__iter__", counting_iter)
    model = _SlowIdentity(counter)
    options = VideoOptions(batch_size=3, queue_batches=2)
    result = translate_video(src, tmp_path / "out.mp4", model, options, progress=False)
    assert result.frames_out == 60 and len(read_back(tmp_path / "out.mp4")[0]) == 60
    assert decode_threads == {"translate-decode"}
    # the model was slow, so decoding ran ahead; never further than the queue plus the batch being built
    assert max(model.leads) > 3
    assert max(model.leads) <= options.queue_batches * options.batch_size + options.batch_size + 1
    assert set(result.stage_seconds) >= {"decode", "model", "encode"}


def test_a_failing_model_stops_the_stages_and_leaves_no_output(tmp_path):
    src = make_video(tmp_path / "clip.mp4", frames=30, audio=None)

    def broken(frames):
        raise RuntimeError("model exploded")

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="exploded"):
        translate_video(src, tmp_path / "out.mp4", broken, VideoOptions(batch_size=2), progress=False)
    assert not list(tmp_path.glob("*out*")) and not list(tmp_path.glob(".*"))
    assert threading.active_count() == before  # decode and encode threads were joined


def _frames(times):
    return (Frame(np.full((2, 2, 3), i, np.uint8), i, t, i) for i, t in enumerate(times))


def test_resample_picks_the_latest_frame_at_or_before_each_tick():
    out = list(resample(_frames([0.0, 0.1, 0.5, 0.6]), Fraction(10)))  # a variable-rate input
    assert [f.pts for f in out] == list(range(7))  # 0.0 .. 0.6, the last frame held for 0.1 s
    assert [int(f.image[0, 0, 0]) for f in out] == [0, 1, 1, 1, 1, 2, 3]
    halved = list(resample(_frames([i / 24 for i in range(24)]), Fraction(12)))
    assert len(halved) == 12 and [int(f.image[0, 0, 0]) for f in halved[:3]] == [0, 2, 4]
