"""Evaluate: two folders of images, or a checkpoint's generators on a dataset split.

The same functions serve ``translate eval`` and evaluation during training, so the numbers a
run logs at step N are the numbers ``translate eval`` gives for the checkpoint saved at step N
(both translate whole test images in eval mode, as ``translate apply`` does).

Which comparisons are made depends on the data, not on the translator:

* paired split (A|B images, or A/ and B/): each generator's output vs the ground truth of its
  direction -> pair metrics (PSNR, SSIM, LPIPS) and, if asked, set metrics (FID, KID) and, with
  both generators, cycle PSNR;
* unpaired split (testA/, testB/): each generator's outputs vs the real images of its target
  domain -> FID, KID; with both generators also A -> B -> A vs A -> cycle PSNR;
* two folders: files matched by name -> every metric.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from translate.apply.model import Model
from translate.checkpoint import GeneratorSpec
from translate.choices import DIRECTIONS
from translate.data import ImageReadError, read_image, resize_long_side
from translate.devices import precision_name
from translate.eval.features import FeatureNets
from translate.eval.metrics import METRICS
from translate.eval.report import EvalReport
from translate.eval.sources import data_kind, match_folders, paired_split, target_part, unpaired_split
from translate.eval.suite import MetricSuite

# What is measured when no metrics are named (--metrics / eval_metrics), by the kind of data.
DEFAULT_METRICS = {
    "paired": ("psnr", "ssim", "lpips"),
    "unpaired": ("fid", "kid", "cycle_psnr"),
    "folders": ("psnr", "ssim", "lpips", "fid", "kid"),
}
REVERSE = dict(zip(DIRECTIONS, reversed(DIRECTIONS)))  # AtoB <-> BtoA


@dataclass
class EvalOptions:
    metrics: Sequence[str] = ()  # empty: DEFAULT_METRICS for the data
    max_images: Optional[int] = None  # first N images (sorted by name) of each folder / domain
    size: Optional[int] = None  # resize inputs (and paired targets) so the long side is SIZE
    batch_size: int = 8  # images per feature-network pass
    target_part: str = "auto"  # two folders: whole target, or its A or B half (see sources.target_part)
    progress: bool = True
    context: Dict[str, object] = field(default_factory=dict)  # recorded in the report (checkpoint, step)

    def __post_init__(self) -> None:
        for name in self.metrics:
            METRICS.get(name)  # an unknown name fails here, before any image is read, with close names

    def metric_names(self, kind: str) -> List[str]:
        return list(dict.fromkeys(self.metrics or DEFAULT_METRICS[kind]))


class _Run:
    """Shared state of one evaluation: the report, the progress bar, reading with error capture."""

    def __init__(self, options: EvalOptions, total: int, desc: str):
        self.options = options
        self.report = EvalReport(context=dict(options.context))
        self.bar = tqdm(total=total, desc=desc, unit="img", disable=not options.progress, dynamic_ncols=True)

    def fail(self, name: str, reason: str) -> None:
        self.report.failed[name] = reason

    def read(self, path: Path, channels: int = 3, resize: bool = True) -> Optional[np.ndarray]:
        try:
            image = read_image(path, channels)
            return self.resize(image) if resize else image
        except ImageReadError as exc:
            self.fail(str(path), exc.reason)
            return None

    def resize(self, image: np.ndarray) -> np.ndarray:
        return resize_long_side(image, self.options.size) if self.options.size else image

    def suite(self, names: Sequence[str], features: FeatureNets) -> MetricSuite:
        return MetricSuite(names, features, self.report.skipped, self.fail, self.options.batch_size)

    def close(self) -> EvalReport:
        self.bar.close()
        return self.report


def evaluate_folders(pred_dir: Path, target_dir: Path, features: FeatureNets,
                     options: EvalOptions = EvalOptions()) -> EvalReport:
    """Compare images in ``pred_dir`` with the same-named images in ``target_dir``."""
    pairs = match_folders(Path(pred_dir), Path(target_dir))
    if options.max_images:
        pairs = pairs[: options.max_images]
    run = _Run(options, len(pairs), "eval")
    run.report.context.update(pred=str(pred_dir), target=str(target_dir))
    suite = run.suite(options.metric_names("folders"), features)
    for name, pred_path, target_path in pairs:
        run.bar.update(1)
        # --size applies after the target's A|B half is cut out, so both sides are scaled alike.
        pred, target = run.read(pred_path, resize=False), run.read(target_path, resize=False)
        if pred is None or target is None:
            continue
        try:
            target = target_part(target, pred, options.target_part, target_path)
        except ImageReadError as exc:
            run.fail(str(target_path), exc.reason)
            continue
        pred, target = run.resize(pred), run.resize(target)
        suite.add_pair(name, pred, target)
        suite.add_image(pred, real=False)
        suite.add_image(target, real=True)
    run.report.values += suite.results(None, run.report.skipped)
    return run.close()


def _translator(net: nn.Module, spec: GeneratorSpec, device: torch.device,
                dtype: Optional[torch.dtype]) -> Model:
    """A generator applied exactly as ``translate apply`` applies it: the one inference object."""
    return Model(net, spec, device=str(device), precision=precision_name(dtype))


Generators = Dict[str, Tuple[nn.Module, object]]  # direction -> (net, GeneratorSpec), as exported()


def evaluate_generators(generators: Generators, data: Path, split: str, features: FeatureNets,
                        device: torch.device, dtype: Optional[torch.dtype] = None,
                        options: EvalOptions = EvalOptions()) -> EvalReport:
    """Translate ``split`` of ``data`` with each generator and measure the results.

    The networks must already be on ``device`` and in eval mode (``evaluate_checkpoint`` and
    the training loop's hook see to that).
    """
    kind = data_kind(Path(data), split)
    names = options.metric_names(kind)
    evaluate = _evaluate_unpaired if kind == "unpaired" else _evaluate_paired
    translators = {d: (_translator(net, spec, device, dtype), spec) for d, (net, spec) in generators.items()}
    report = evaluate(translators, Path(data), split, names, features, options)
    report.context.update(data=str(data), split=split)
    return report


def _evaluate_paired(translators, data: Path, split: str, names, features, options) -> EvalReport:
    items = {d: paired_split(data, split, d, spec.in_channels, spec.out_channels, options.max_images)
             for d, (_, spec) in translators.items()}
    run = _Run(options, sum(len(v) for v in items.values()), f"eval {split}")
    for direction, (translate, _) in translators.items():
        suite = run.suite(names, features)
        back = translators.get(REVERSE[direction]) if "cycle" in suite.streams() else None
        for item in items[direction]:
            run.bar.update(1)
            try:
                source, target = item.read()
            except ImageReadError as exc:
                run.fail(exc.path, exc.reason)
                continue
            source, target = run.resize(source), run.resize(target)
            pred = translate(source)
            suite.add_pair(item.name, pred, target)
            if back is not None:
                suite.add_pair(item.name, back[0](pred), source, stream="cycle")
            suite.add_image(pred, real=False)
            suite.add_image(target, real=True)
        run.report.values += suite.results(direction, run.report.skipped)
    return run.close()


def _evaluate_unpaired(translators, data: Path, split: str, names, features, options) -> EvalReport:
    domains = unpaired_split(data, split, options.max_images)
    total = sum(len(domains[d[0]]) + len(domains[d[-1]]) for d in translators)
    run = _Run(options, total, f"eval {split}")
    for direction, (translate, spec) in translators.items():
        source_domain, target_domain = direction[0], direction[-1]
        suite = run.suite(names, features)
        back = translators.get(REVERSE[direction]) if "cycle" in suite.streams() else None
        for path in domains[source_domain]:
            run.bar.update(1)
            source = run.read(path, spec.in_channels)
            if source is None:
                continue
            fake = translate(source)
            suite.add_image(fake, real=False)
            if back is not None:
                suite.add_pair(path.stem, back[0](fake), source, stream="cycle")
        for path in domains[target_domain]:
            run.bar.update(1)
            key = f"{path}@{options.size}"
            if suite.cached_real(key):
                continue
            real = run.read(path, spec.out_channels)
            if real is not None:
                suite.add_image(real, real=True, key=key)
        run.report.values += suite.results(direction, run.report.skipped)
    return run.close()


def load_generators(checkpoint: Path, direction: Optional[str] = None) -> Tuple[Generators, Dict[str, object]]:
    """Every generator of a run folder (or the one in a .safetensors file), and what to record."""
    from translate.checkpoint import read_metadata
    from translate.interop.loading import load_generator

    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        meta = read_metadata(checkpoint)
        directions = [direction] if direction else list(meta["generators"])
        step = meta.get("step")
    else:
        directions, step = [direction], None
    generators = {}
    for d in directions:
        net, spec = load_generator(checkpoint, d)
        generators[spec.direction] = (net, spec)
    if step is None:
        step = _safetensors_step(checkpoint)
    return generators, {"checkpoint": str(checkpoint), "step": step}


def _safetensors_step(path: Path) -> Optional[int]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return int((f.metadata() or {}).get("step"))
    except (TypeError, ValueError, OSError):
        return None


def evaluate_checkpoint(checkpoint: Path, data: Path, split: str, features: FeatureNets,
                        device: torch.device, dtype: Optional[torch.dtype] = None,
                        direction: Optional[str] = None, options: EvalOptions = EvalOptions()) -> EvalReport:
    generators, context = load_generators(checkpoint, direction)
    generators = {d: (net.to(device).eval(), spec) for d, (net, spec) in generators.items()}
    options = replace(options, context={**options.context, **context})
    return evaluate_generators(generators, data, split, features, device, dtype, options)


def default_json_path(checkpoint: Path, split: str, data: Optional[Path] = None) -> Optional[Path]:
    """Beside the checkpoint, named by split and dataset: <run>/eval_<split>_<dataset>.json (or
    <file stem>.eval_<split>_<dataset>.json), so evaluations on other data do not overwrite it.
    None when the checkpoint is tracked by git (the bundled demo model): a tracked folder is only
    written into when asked (``--json``)."""
    checkpoint = Path(checkpoint)
    name = f"eval_{split}" + (f"_{_safe_name(Path(data))}" if data is not None else "")
    if _tracked_by_git(checkpoint):
        return None
    if checkpoint.is_dir():
        return checkpoint / f"{name}.json"
    return checkpoint.with_name(f"{checkpoint.stem}.{name}.json")


def _safe_name(data: Path) -> str:
    import re

    return re.sub(r"[^\w.-]+", "_", data.resolve().name) or "data"


def _tracked_by_git(path: Path) -> bool:
    import subprocess

    probe = path / "translate.json" if path.is_dir() else path
    try:
        done = subprocess.run(["git", "-C", str(probe.parent), "ls-files", "--error-unmatch", probe.name],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False  # no git here: nothing can be tracked
    return done.returncode == 0