"""Evaluation during training: ``--set eval_every=N`` measures the test split every N steps.

The training loop builds one ``TrainingEval`` on rank 0 and calls it at every multiple of
``eval_every``. Each call translates the first ``eval_max_images`` images of ``eval_split``
with the live generators (switched to eval mode and back), runs the same metrics as
``translate eval``, appends a record to ``<run>/eval_log.json`` (rewritten atomically, so it is
always valid JSON) and returns the values for TensorBoard and the HTML page.

Feature networks are built once per run, and real images' Inception features are computed once
and reused, so later evaluations cost only the translations and the outputs' features.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from translate.errors import TranslateError
from translate.eval.evaluate import EvalOptions, evaluate_generators
from translate.eval.features import FeatureNets, WeightPaths
from translate.eval.metrics import METRICS
from translate.eval.report import EvalReport
from translate.eval.sources import data_kind
from translate.fileio import atomic_write_text

LOG_FILE = "eval_log.json"


class TrainingEvalError(TranslateError, ValueError):
    """Evaluation settings that cannot work for this run; one line, raised before training starts."""


class TrainingEval:
    def __init__(self, train_config, folder: Path, device: torch.device, dtype: Optional[torch.dtype]):
        t = train_config
        self.folder, self.device, self.dtype = Path(folder), device, dtype
        self.data, self.split = Path(t.data), t.eval_split
        try:
            data_kind(self.data, self.split)  # fail at step 0, not after eval_every steps of training
        except (FileNotFoundError, ValueError) as exc:
            raise TrainingEvalError(f"eval_every={t.eval_every} needs the {self.split!r} split: {exc}") from None
        for name in t.eval_metrics:
            METRICS.get(name)
        self.options = EvalOptions(metrics=list(t.eval_metrics), max_images=t.eval_max_images or None,
                                   progress=False)
        self.features = FeatureNets(WeightPaths(folder=t.eval_weights_dir), device)
        self.log_path = self.folder / LOG_FILE
        self._reported: set = set()

    def __call__(self, step: int, generators: Dict[str, Any]) -> EvalReport:
        """Evaluate ``generators`` ({direction: (net, spec)}, as ``translator.exported()``)."""
        modes = {d: net.training for d, (net, _) in generators.items()}
        try:
            for net, _ in generators.values():
                net.eval()
            options = replace(self.options, context={"step": step})
            report = evaluate_generators(generators, self.data, self.split, self.features, self.device,
                                         self.dtype, options)
        finally:
            for direction, (net, _) in generators.items():
                net.train(modes[direction])
        self._append(report)
        return report

    def notes(self, report: EvalReport) -> List[str]:
        """Lines for the user not shown before: a missing weights file or an unreadable image is
        reported once per run, not at every evaluation."""
        fresh = [f"eval: skipped {m}: {r}" for m, r in report.skipped.items() if m not in self._reported]
        fresh += [f"eval: could not use {f}: {r}" for f, r in report.failed.items() if f not in self._reported]
        self._reported.update(report.skipped, report.failed)
        return fresh

    def _append(self, report: EvalReport) -> None:
        records = self._read_log()
        step = report.context.get("step")
        # A resumed run re-evaluates steps after its last checkpoint: keep one record per step.
        records = [r for r in records if r.get("step") != step] + [report.to_dict()]
        atomic_write_text(self.log_path, json.dumps(records, indent=1, allow_nan=False) + "\n")

    def _read_log(self) -> List[Dict[str, Any]]:
        if not self.log_path.exists():
            return []
        try:
            records = json.loads(self.log_path.read_text())
        except json.JSONDecodeError:
            return []  # written atomically, so only a hand-edited file gets here: start afresh
        return records if isinstance(records, list) else []
