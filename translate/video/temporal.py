"""Frame-to-frame flicker: a metric, and an optical-flow filter that reduces it.

A generator translates every frame on its own, so small input changes (noise,
compression) can flip textures and tones from one frame to the next: flicker. Both
the metric and the filter need to know where each pixel of frame t was in frame
t-1. That motion is estimated on the *input* frames (the output is what we are
judging, so it cannot be trusted to estimate its own motion) with OpenCV's
Farneback flow, on a downscaled grey copy for speed.

Flicker metric: ``mean |out_t - warp(out_{t-1})|`` in 0-255 levels, averaged over
frames, with each pixel weighted by how well the motion explains the *input*
there (``confidence``: occluded or newly revealed pixels, where warping says nothing,
count little). The same number for the input itself is reported beside it: a
perfectly stable translation would flicker about as much as its input does.

Filter (``strength`` a in (0, 1]): ``out'_t = out_t + a * c * (warp(out'_{t-1}) - out_t)``
with the confidence ``c``: an exponential moving average along the motion. It pulls
each output towards the previous (filtered) output where the motion is reliable, and
leaves new content alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import cv2
import numpy as np

from translate.errors import InvalidSettingError

FLOW_MAX_SIDE = 320  # flow is estimated at this size at most: motion is smooth, pixels are not needed
CONFIDENCE_SCALE = 12.0  # input mismatch (0-255 levels) at which confidence falls to 1/e


def estimate_flow(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Backward flow (HxWx2, pixels): ``current[y, x] ~ previous[y + f[...,1], x + f[...,0]]``."""
    h, w = current.shape[:2]
    scale = min(1.0, FLOW_MAX_SIDE / max(h, w))
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    a = cv2.resize(_grey(current), size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(_grey(previous), size, interpolation=cv2.INTER_AREA)
    flow = cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3,
                                        poly_n=5, poly_sigma=1.2, flags=0)
    flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    flow[..., 0] *= w / size[0]
    flow[..., 1] *= h / size[1]
    return flow


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (a frame t-1 quantity) at the positions ``flow`` gives for frame t."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def confidence(current: np.ndarray, previous: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """HxW in (0, 1]: how well ``warp(previous)`` matches ``current`` (1 = perfectly)."""
    err = np.abs(current.astype(np.float32) - warp(previous, flow).astype(np.float32)).mean(axis=2)
    return np.exp(-err / CONFIDENCE_SCALE)


def _grey(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.shape[2] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _weighted_diff(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    diff = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    return float((diff * weight).sum() / max(weight.sum(), 1e-6))


@dataclass
class FlickerStats:
    """Per-transition flicker of the output and of the input, in 0-255 levels."""

    output: List[float] = field(default_factory=list)
    input: List[float] = field(default_factory=list)

    @property
    def mean_output(self) -> float:
        return float(np.mean(self.output)) if self.output else 0.0

    @property
    def mean_input(self) -> float:
        return float(np.mean(self.input)) if self.input else 0.0

    def summary(self) -> str:
        return (f"flicker {self.mean_output:.2f} (input {self.mean_input:.2f}; mean |out_t - warp(out_t-1)| in "
                f"0-255 levels over {len(self.output)} frame transitions)")


class TemporalFilter:
    """Feed frames in order; returns each output, smoothed when ``strength`` > 0, and measures flicker.

    ``strength`` 0 only measures. The frames passed in must be consecutive frames of one video.
    """

    def __init__(self, strength: float = 0.0, measure: bool = True):
        if not 0.0 <= strength <= 1.0:
            raise InvalidSettingError(f"temporal strength must be in [0, 1], got {strength}")
        self.strength = strength
        self.measure = measure
        self.stats = FlickerStats()
        self._prev: Optional[Tuple[np.ndarray, np.ndarray]] = None  # (input, filtered output) of t-1

    def __call__(self, source: np.ndarray, output: np.ndarray) -> np.ndarray:
        if self._prev is None or self._prev[0].shape != source.shape or self._prev[1].shape != output.shape:
            self._prev = (source, output)
            return output
        prev_in, prev_out = self._prev
        flow = estimate_flow(source, prev_in)
        conf = confidence(source, prev_in, flow)
        warped = warp(prev_out, flow)
        if self.strength > 0:
            alpha = (self.strength * conf)[..., None]
            blended = output.astype(np.float32) + alpha * (warped.astype(np.float32) - output.astype(np.float32))
            output = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        if self.measure:
            self.stats.output.append(_weighted_diff(output, warped, conf))
            self.stats.input.append(_weighted_diff(source, warp(prev_in, flow), conf))
        self._prev = (source, output)
        return output
