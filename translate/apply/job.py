"""``translate apply`` as one call: a checkpoint, inputs and outputs, and how to run them.

The command parses its flags into an ``ApplyJob`` and calls ``run_job``; everything between
(loading any model file, the reference test mode, devices, tiling, planning outputs before the
model runs, the batch over images and videos) happens here.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from translate.apply.batch import BatchOptions, BatchReport, plan_media, run_batch
from translate.apply.tiling import TileSpec, TilingNet
from translate.devices import configure_threads, precision_name, resolve_device, resolve_precision
from translate.interop.loading import load_generator
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


def tiling_for(tile: str, overlap: int = TileSpec().overlap) -> Tuple[str, TileSpec]:
    """``--tile`` (auto, off, or a size in px) -> TilingNet's mode and tile spec."""
    mode, size = ("on", int(tile)) if str(tile).isdigit() else (str(tile), TileSpec().size)
    return mode, TileSpec(size, min(overlap, size // 2))


def run_job(job: ApplyJob, on_message: Message = _stderr) -> BatchReport:
    """Translate ``job.input`` into ``job.output``; the report lists written, skipped and failed files.

    Inputs and outputs are planned before the model is loaded into its device, so a bad path or
    output suffix is refused before any work; files that fail later are reported, not fatal.
    """
    configure_threads()
    checkpoint = Path(job.checkpoint)
    if job.step is not None:
        checkpoint = step_folder(checkpoint, job.step)
    problems: List[Tuple[Path, str]] = []
    pairs = plan_media(Path(job.input), Path(job.output), problems)  # refused paths cost no model load
    net, spec = load_generator(checkpoint, job.direction)
    if job.reference_test_mode:
        from translate.interop.reference import reference_test_mode

        net = reference_test_mode(net)
    device = resolve_device(job.device or "auto")
    dtype = resolve_precision(job.precision or "auto", device)
    mode, tiles = tiling_for(job.tile, job.tile_overlap)
    net = TilingNet(net, mode, tiles, (spec.preprocess or {}).get("size"), on_message)
    on_message(f"{spec.translator or 'model'} {spec.direction} ({spec.architecture}) on {device}, "
               f"{precision_name(dtype)}: {len(pairs)} file(s) -> {job.output}")
    report = run_batch(net, pairs, spec.in_channels, device, dtype, job.batch, spec.preprocess, on_message)
    report.failed[:0] = problems
    return report
