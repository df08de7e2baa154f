"""``translate apply`` as one call: a checkpoint, inputs and outputs, and how to run them.

The command parses its flags into an ``ApplyJob`` and calls ``run_job``; everything between
(loading any model file, the reference test mode, devices, tiling, planning outputs before the
model runs, the batch over images and videos) happens here.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from translate.apply.batch import BatchOptions, BatchReport, plan_batch
from translate.apply.model import Model
from translate.devices import configure_threads
from translate.interop.reference import reference_test_mode
from translate.run_history import step_folder

Message = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class ApplyJob:
    checkpoint: Path
    input: Path
    output: Path
    direction: Optional[str] = None  # AtoB / BtoA of a two-way model
    step: Optional[int] = None  # a saved step of the run (its steps/ history) instead of the latest
    device: Optional[str] = None  # auto, cpu, cuda, cuda:N
    precision: Optional[str] = None  # auto, fp32, bf16, fp16
    tile: str = "auto"  # auto, off, or a tile size in pixels
    tile_overlap: int = 64
    reference_test_mode: bool = False  # the reference test script's train-mode norm and dropout
    batch: BatchOptions = field(default_factory=BatchOptions)
    features: Optional[str] = None  # pix2pixHD feature-encoder models: "26=3,24=1" or "random" (FeatureChoice)


def run_job(job: ApplyJob, on_message: Message = _stderr) -> BatchReport:
    """Translate ``job.input`` into ``job.output``; the report lists written, skipped and failed files.

    Inputs and outputs are planned before the model is loaded, so a bad path or output suffix is
    refused before any work; files that fail later are reported, not fatal.
    """
    configure_threads()
    checkpoint = Path(job.checkpoint)
    if job.step is not None:
        checkpoint = step_folder(checkpoint, job.step)
    plan = plan_batch(Path(job.input), Path(job.output))  # refused paths cost no model load
    model = Model.from_file(checkpoint, job.direction, job.device, job.precision, job.tile, job.tile_overlap,
                            on_message, prepare=reference_test_mode if job.reference_test_mode else None,
                            features=job.features)
    on_message(f"{model.describe()}: {len(plan.pairs)} file(s) -> {job.output}")
    if model.feature_clusters is not None:
        on_message(f"{model.feature_clusters.describe()}; painting {model.feature_choice.describe()}")
    return model.translate_plan(plan, job.batch, on_message)
