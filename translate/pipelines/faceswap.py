"""Swap the chosen face in each frame: detect, number, align, translate the crop, paste back.

A ``FaceSwapper`` is a ``translate.apply.frames.FrameFn`` (a list of uint8 RGB frames in,
the same number out), so the streaming video pipeline
(``translate.apply.video.translate_video``) runs it unchanged: decoding, encoding,
audio, batching and atomic output come from there. Frames arrive in order, so the
tracker's smoothing carries from batch to batch; ``reset()`` starts a new clip.

Per batch: detection and tracking run frame by frame (they depend on the previous
frame), the aligned crops of all frames with a face go through the generator in one
forward pass, then each crop is pasted back. Frames without a face pass through
untouched and are counted in ``stats.no_face``.

Which face: every face of a frame is numbered by the ID tracker (``faces_choose.FaceNumbering``).
``scan`` reads a clip's frames once, detection only, and ``choose`` picks the ID(s) to swap by
``SwapOptions.choice`` (``--face ID|largest|centre``) over the whole clip; the swap pass numbers
the same frames the same way and replaces only those IDs, so other faces stay untouched. Without
a scan (one call on loose frames), each frame's largest face is swapped.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Protocol, Sequence

import cv2
import numpy as np
import torch

from translate.errors import InvalidSettingError
from translate.people.choosing import Choice
from translate.people.faces_align import AlignSpec, align_face, transform_points
from translate.people.faces_blend import BlendOptions, paste_face
from translate.people.faces_detect import Face, FaceDetector
from translate.people.faces_mask import build_masker
from translate.people.faces_choose import ChosenFaces, FaceNumbering, FaceRecord
from translate.people.faces_track import FaceTracker, TrackOptions
from translate.people.tracking import TrackingOptions


@dataclass
class SwapOptions:
    align: AlignSpec = field(default_factory=AlignSpec)
    track: TrackOptions = field(default_factory=TrackOptions)
    blend: BlendOptions = field(default_factory=BlendOptions)
    temporal: float = 0.0  # blend each translated crop with the previous one (0 = off, < 1)
    mask: str = "mesh"  # mesh | hull: where the blend's face outline comes from (faces_mask.MASKERS)
    choice: Choice = field(default_factory=Choice)  # which face, over the clip: --face ID|largest|centre
    tracking: TrackingOptions = field(default_factory=TrackingOptions)  # how faces keep their IDs

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
        self.tracker = FaceTracker(options.track)  # smooths the chosen face's landmarks
        self.numbering = FaceNumbering(options.tracking)
        self.chosen: Optional[ChosenFaces] = None  # set by ``choose`` after a ``scan``
        self.masker = build_masker(options.mask)
        self.stats = SwapStats()
        self._previous_crop: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Start a new clip: forget the tracked faces, the choice and the counts."""
        self.tracker.reset()
        self.numbering.reset()
        self.chosen = None
        self.stats = SwapStats()
        self._previous_crop = None

    def scan(self, frames: Iterable[np.ndarray]) -> FaceRecord:
        """Every face of every frame, numbered (detection only); the swap pass numbers them the same."""
        numbering, record = FaceNumbering(self.options.tracking), FaceRecord()
        start = time.perf_counter()
        for frame in frames:
            record.add(numbering(self.detector(frame)), frame)
        self.stats.seconds["scan"] += time.perf_counter() - start
        return record

    def choose(self, record: FaceRecord) -> ChosenFaces:
        """Swap only the face(s) ``options.choice`` picks in ``record`` (raises ``choosing.NoSuchIdError``
        for an ID never seen)."""
        self.chosen = record.choose(self.options.choice)
        return self.chosen

    def region(self, frame: np.ndarray, face: Face) -> np.ndarray:
        """The swap region of ``face`` in ``frame`` (float HxW in [0, 1]), as the blend will use it: the
        masker's mask of its aligned crop, put back into the frame (for previews)."""
        crop, matrix = align_face(frame, face.landmarks, self.options.align)
        mask = self.masker(crop, transform_points(matrix, face.landmarks))
        inverse = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
        return cv2.warpAffine(mask, inverse, (frame.shape[1], frame.shape[0]), flags=cv2.INTER_LINEAR)

    def _candidates(self, frame: np.ndarray) -> List[Face]:
        numbered = self.numbering(self.detector(frame))
        if self.chosen is None:
            return [face for _, face in numbered]
        return [face for fid, face in numbered if fid in self.chosen.ids]

    def __call__(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        o, timers = self.options, self.stats.seconds
        jobs = []  # (frame index, crop, matrix, landmarks in crop, continues the previous face)
        for i, frame in enumerate(frames):
            start = time.perf_counter()
            had_face = self.tracker.state is not None
            face = self.tracker.update(self._candidates(frame))
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
