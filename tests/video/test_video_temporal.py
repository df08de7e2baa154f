"""Optical-flow warping, the flicker metric, and the filter that reduces flicker."""
import numpy as np
import pytest
import torch
from torch import nn

from translate.apply.model import Model
from translate.apply.video import VideoOptions, translate_video
from translate.video.temporal import TemporalFilter, estimate_flow, warp
from video_clips import make_video, pattern


def test_flow_warps_the_previous_frame_onto_the_current_one():
    prev, cur = pattern(0, 96, 64), pattern(3, 96, 64)  # content slides 3 px right
    flow = estimate_flow(cur, prev)
    inner = (slice(8, -8), slice(12, -12))
    assert np.median(flow[inner][..., 0]) == pytest.approx(-3.0, abs=0.3)
    warped = warp(prev, flow)
    assert np.abs(warped.astype(int) - cur)[inner].mean() < 0.25 * np.abs(prev.astype(int) - cur)[inner].mean()


class _Flickering(nn.Module):
    """A 'generator' that is the identity plus a random brightness jump per frame: pure flicker."""

    size_multiple = 1

    def forward(self, x):
        return x + 0.3 * (torch.rand(x.shape[0], 1, 1, 1) - 0.5)


class _Identity(nn.Module):
    size_multiple = 1

    def forward(self, x):
        return x


def _run(tmp_path, net, name, **options):
    src = make_video(tmp_path / "clip.mp4", frames=20, width=96, height=64, audio=None)
    model = Model.of_network(net, size_multiple=net.size_multiple, device="cpu", precision="fp32")
    return translate_video(src, tmp_path / name, model.frames, VideoOptions(batch_size=3, **options), progress=False)


def test_filter_reduces_the_flicker_metric(tmp_path):
    torch.manual_seed(0)
    raw = _run(tmp_path, _Flickering(), "raw.mp4", measure_flicker=True)
    torch.manual_seed(0)
    smooth = _run(tmp_path, _Flickering(), "smooth.mp4", temporal=0.8)
    assert raw.frames_out == smooth.frames_out == 20
    assert len(raw.flicker.output) == 19
    assert smooth.flicker.mean_output < 0.5 * raw.flicker.mean_output
    assert raw.flicker.mean_output > 1.8 * raw.flicker.mean_input  # the metric sees the flicker


def test_a_stable_translation_flickers_as_little_as_its_input(tmp_path):
    result = _run(tmp_path, _Identity(), "same.mp4", measure_flicker=True)
    assert result.flicker.mean_output == pytest.approx(result.flicker.mean_input, abs=0.5)
    assert "flicker" in result.flicker.summary()


def test_strength_outside_range_is_refused():
    with pytest.raises(ValueError):
        TemporalFilter(1.5)
