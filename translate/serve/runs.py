"""Reading training runs back from what training already writes, for the runs pages.

A run folder (``checkpoints/NAME``) holds, as ``translate.training.watch`` and ``translate.eval``
leave it: ``tensorboard/`` event files (``loss/*``, ``speed/*``, ``eval/*`` scalars),
``eval_log.json`` (one record per evaluation), ``web/images/stepNNNNNNN_LABEL.png`` sample
images and ``web/index.html`` (which names each step's epoch), ``config.yaml`` and
``translate.json``. Nothing here writes to a run.

TensorBoard is a core requirement, so its event reader is used; should it be missing, the
curves fall back to the eval log alone rather than the page failing.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from translate.run_history import HISTORY_DIR

Series = Dict[str, List[Tuple[int, float]]]  # tag -> [(step, value)] in step order
_MARKERS = ("translate.json", "config.yaml", "tensorboard", "eval_log.json", "web")
_SAMPLE = re.compile(r"^step(\d+)_(.+)\.png$")
_EPOCH_ROW = re.compile(r"epoch (\d+)<br>step (\d+)")


@dataclass(frozen=True)
class Run:
    name: str
    path: Path


def is_history(folder: Path) -> bool:
    """``RUN/steps/12``: a save kept in a run's history (``translate.run_history``), which has a
    translate.json like a run but is part of its run, not a run (or a model) of its own."""
    folder = Path(folder)
    return folder.name.isdigit() and folder.parent.name == HISTORY_DIR


def find_runs(roots: Iterable[Path]) -> List[Run]:
    """Run folders under ``roots`` (the root itself, its children and grandchildren), by name;
    never a run's history folder."""
    seen, runs = set(), []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for folder in [root, *sorted(root.glob("*")), *sorted(root.glob("*/*"))]:
            if not folder.is_dir() or folder.resolve() in seen or folder.name in _MARKERS or is_history(folder):
                continue
            if any((folder / m).exists() for m in _MARKERS):
                seen.add(folder.resolve())
                runs.append(Run(folder.name, folder))
    counts: Dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    return [Run(f"{r.path.parent.name}/{r.name}" if counts[r.name] > 1 else r.name, r.path) for r in runs]


def read_eval_log(folder: Path) -> List[Dict[str, float]]:
    """One row per evaluation, oldest first: {"step": s, "psnr": ..., "fid_AtoB": ...}."""
    path = Path(folder) / "eval_log.json"
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError):
        return []  # no evaluations, or a file being hand-edited: the page shows none
    rows: Dict[int, Dict[str, float]] = {}
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        for m in record.get("metrics") or []:
            try:
                step = int(m.get("step", record.get("step")))
                key = m["metric"] + (f"_{m['direction']}" if m.get("direction") else "")
                value = float(m["value"])
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(value):
                rows.setdefault(step, {"step": step})[key] = value
    return [rows[s] for s in sorted(rows)]


def read_scalars(folder: Path) -> Series:
    """Every scalar TensorBoard holds for the run (losses, speed, eval), plus the eval log's metrics
    under ``eval/`` where TensorBoard has none (a run trained with ``tensorboard: false``)."""
    series: Series = {}
    events = Path(folder) / "tensorboard"
    if events.is_dir():
        try:
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        except ImportError:
            EventAccumulator = None
        if EventAccumulator is not None:
            # size_guidance 0 = keep every point: a quick look must not be a random subsample
            acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
            acc.Reload()
            for tag in acc.Tags().get("scalars", []):
                points: Dict[int, float] = {}
                for event in acc.Scalars(tag):
                    points[int(event.step)] = float(event.value)  # a resumed run rewrites steps: keep the last
                series[tag] = sorted(points.items())
    for row in read_eval_log(folder):
        for key, value in row.items():
            if key != "step" and f"eval/{key}" not in series:
                series.setdefault(f"eval_log/{key}", []).append((row["step"], value))
    return {tag: points for tag, points in series.items() if points}


def sample_grids(folder: Path) -> List[Tuple[int, Optional[int], List[Tuple[str, Path]]]]:
    """[(step, epoch or None, [(label, image path)])], newest step first."""
    images = Path(folder) / "web" / "images"
    by_step: Dict[int, List[Tuple[str, Path]]] = {}
    if images.is_dir():
        for path in sorted(images.iterdir()):
            match = _SAMPLE.match(path.name)
            if match:
                by_step.setdefault(int(match.group(1)), []).append((match.group(2), path))
    epochs: Dict[int, int] = {}
    page = Path(folder) / "web" / "index.html"
    if page.exists():
        epochs = {int(step): int(epoch) for epoch, step in _EPOCH_ROW.findall(page.read_text(errors="replace"))}
    return [(step, epochs.get(step), by_step[step]) for step in sorted(by_step, reverse=True)]


def config_text(folder: Path) -> str:
    path = Path(folder) / "config.yaml"
    return path.read_text(errors="replace") if path.exists() else "(this run has no config.yaml)"


def summary(run: Run) -> Dict[str, object]:
    """One row of the runs table: what the run is and its latest value of every scalar."""
    meta: Dict[str, object] = {}
    try:
        meta = json.loads((run.path / "translate.json").read_text())
    except (OSError, ValueError):
        pass
    scalars = read_scalars(run.path)
    last_step = max([p[-1][0] for p in scalars.values()] + [int(meta.get("step") or 0)])
    row: Dict[str, object] = {"run": run.name, "translator": meta.get("translator", ""), "steps": last_step}
    for tag in sorted(scalars):
        if tag.startswith("eval") or tag.startswith("loss/"):
            row[tag.split("/", 1)[1]] = round(scalars[tag][-1][1], 4)
    return row


def runs_table(runs: Iterable[Run]) -> Tuple[List[str], List[List[object]]]:
    """Headers and rows for every run, eval metrics before losses, missing values blank."""
    rows = [summary(run) for run in runs]
    columns = ["run", "translator", "steps"]
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns, [[row.get(c, "") for c in columns] for row in rows]
