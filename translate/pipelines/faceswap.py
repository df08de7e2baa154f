"""Swap the followed face in each frame: detect, track, align, translate the crop, paste back.

A ``FaceSwapper`` is a ``translate.apply.frames.FrameFn`` (a list of uint8 RGB frames in,
the same number out), so the streaming video pipeline
(``translate.apply.video.translate_video``) runs it unchanged: decoding, encoding,
audio, batching and atomic output come from there. Frames arrive in order, so the
tracker's smoothing carries from batch to batch; ``reset()`` starts a new clip.

Per batch: detection and tracking run frame by frame (they depend on the previous
frame), the aligned crops of all frames with a face go through the generator in one
forward pass, then each crop is pasted back. Frames without a face pass through
untouched and are counted in ``stats.no_face``.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Sequence

import numpy as np
import torch

from translate.errors import InvalidSettingError
from translate.people.faces_align import AlignSpec, align_face, transform_points
from translate.people.faces_blend import BlendOptions, paste_face
from translate.people.faces_detect import FaceDetector
from translate.people.faces_mask import build_masker
from translate.people.faces_track import FaceTracker, TrackOptions


@dataclass
class SwapOptions:
    align: AlignSpec = field(default_factory=AlignSpec)
    track: TrackOptions = field(default_factory=TrackOptions)
    blend: BlendOptions = field(default_factory=BlendOptions)
    temporal: float = 0.0  # blend each translated crop with the previous one (0 = off, < 1)
    mask: str = "mesh"  # mesh | hull: where the blend's face outline comes from (faces_mask.MASKERS)

    def __post_init__(self) -> None:
        if not 0.0 <= self.temporal < 1.0:
            raise InvalidSettingError(f"temporal smoothing must be in [0, 1), got {self.temporal}")


class FrameModel(Protocol):
    """What the swapper needs of a model (``translate.apply.model.Model`` is one)."""

    device: torch.device

    def frames(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]: ...


@dataclass
class SwapStats:
    frames: int = 0
    swapped: int = 0
    no_face: int = 0
    seconds: Dict[str, float] = field(default_factory=lambda: defaultdict(float))  # detect/align/translate/blend


class FaceSwapper:
    """``swapper(frames) -> frames`` with the followed face replaced by the generator's translation."""

    def __init__(self, model: FrameModel, detector: FaceDetector, options: SwapOptions):
        self.model = model  # the face generator: crops go through its ``frames``
        self.detector = detector
        self.options = options
        self.tracker = FaceTracker(options.track)
        self.masker = build_masker(options.mask)
        self.stats = SwapStats()
        self._previous_crop: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Start a new clip: forget the tracked face and the counts."""
        self.tracker.reset()
        self.stats = SwapStats()
        self._previous_crop = None

    def __call__(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        o, timers = self.options, self.stats.seconds
        jobs = []  # (frame index, crop, matrix, landmarks in crop, continues the previous face)
        for i, frame in enumerate(frames):
            start = time.perf_counter()
            had_face = self.tracker.state is not None
            face = self.tracker.update(self.detector(frame))
            mid = time.perf_counter()
            timers["detect"] += mid - start
            if face is None:
                continue
            crop, matrix = align_face(frame, face.landmarks, o.align)
            jobs.append((i, crop, matrix, transform_points(matrix, face.landmarks), had_face))
            timers["align"] += time.perf_counter() - mid
        outputs = [np.asarray(f) for f in frames]
        self.stats.frames += len(frames)
        self.stats.no_face += len(frames) - len(jobs)
        if not jobs:
            self._previous_crop = None
            return outputs
        start = time.perf_counter()
        try:
            translated = self.model.frames([crop for _, crop, _, _, _ in jobs])
        except torch.OutOfMemoryError:
            raise InvalidSettingError(f"out of memory translating {len(jobs)} face crop(s) of {o.align.size}x"
                               f"{o.align.size} on {self.model.device}: lower --batch-size") from None
        timers["translate"] += time.perf_counter() - start
        start = time.perf_counter()
        for (i, source, matrix, landmarks, continues), crop in zip(jobs, translated):
            if o.temporal and continues and self._previous_crop is not None:
                crop = np.round(o.temporal * self._previous_crop + (1 - o.temporal) * crop).astype(np.uint8)
            self._previous_crop = crop.astype(np.float32)
            mask = self.masker(source, landmarks)  # the input crop's outline: the region being replaced
            outputs[i] = paste_face(outputs[i], crop, matrix, mask, o.blend)
            self.stats.swapped += 1
        timers["blend"] += time.perf_counter() - start
        return outputs
