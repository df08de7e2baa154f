"""What an evaluation found: metric values, skipped metrics, unreadable files; as a table or JSON.

The JSON file (written atomically) is the record a paper table or a comparison script reads:

    {"format": "translate-eval", "version": 1, "checkpoint": ..., "step": 6000, "split": "test",
     "metrics": [{"metric": "psnr", "value": 21.4, "direction": "AtoB", "images": 24,
                  "split": "test", "step": 6000, "higher_is_better": true}, ...],
     "skipped": [{"metric": "lpips", "reason": "..."}],
     "failed": [{"file": "...", "reason": "..."}]}
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from translate.fileio import atomic_write_text

FORMAT = "translate-eval"
VERSION = 1


@dataclass
class MetricValue:
    metric: str
    value: float
    images: int  # images scored: output images (pairs, or translated images for FID/KID)
    higher_is_better: bool
    direction: Optional[str] = None  # AtoB / BtoA for a checkpoint; None for two folders
    std: Optional[float] = None  # KID's standard deviation over subsets

    @property
    def key(self) -> str:
        """Name used in TensorBoard and the training log: ``psnr`` or ``fid_AtoB``."""
        return self.metric if not self.direction else f"{self.metric}_{self.direction}"


@dataclass
class EvalReport:
    values: List[MetricValue] = field(default_factory=list)
    skipped: Dict[str, str] = field(default_factory=dict)  # metric (or metric_direction) -> reason
    failed: Dict[str, str] = field(default_factory=dict)  # file -> reason
    context: Dict[str, Any] = field(default_factory=dict)  # checkpoint, step, data, split, pred, target

    @property
    def ok(self) -> bool:
        return not self.failed

    def scalars(self) -> Dict[str, float]:
        return {v.key: v.value for v in self.values}

    def to_dict(self) -> Dict[str, Any]:
        shared = {k: self.context[k] for k in ("split", "step") if k in self.context}
        metrics = []
        for v in self.values:
            entry = {k: x for k, x in asdict(v).items() if x is not None}
            metrics.append({**entry, **shared})
        return {
            "format": FORMAT,
            "version": VERSION,
            **self.context,
            "metrics": metrics,
            "skipped": [{"metric": m, "reason": r} for m, r in self.skipped.items()],
            "failed": [{"file": f, "reason": r} for f, r in self.failed.items()],
        }

    def write_json(self, path: Path) -> Path:
        # allow_nan=False: a non-finite number would make a file strict JSON readers reject.
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        return Path(path)

    def table(self) -> str:
        """Aligned text table: metric, direction, value, images, and which way is better."""
        rows = [("metric", "direction", "value", "images", "better")]
        for v in self.values:
            value = _format(v.value) + (f" ± {_format(v.std)}" if v.std is not None else "")
            rows.append((v.metric, v.direction or "-", value, str(v.images), "higher" if v.higher_is_better else "lower"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _format(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4f}" if abs(x) < 1000 else f"{x:.1f}"
