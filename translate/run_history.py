"""A run's history: ``steps/<step>/`` holds the generators and metadata of recent saves (the last
``keep_last``) and of the best evaluation, so ``translate apply --step N`` can pick an earlier model.

Generators are hard links to the files just saved (no second copy on disk); training state is not
kept there: a resume always continues from the newest save. Written by the training loop, read by
apply; built on the checkpoint format (``translate.checkpoint``).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from torch import nn

from translate.checkpoint import METADATA_FILE, CheckpointError, GeneratorSpec, read_metadata, save_run
from translate.fileio import atomic_write_text, temporary_name

HISTORY_DIR = "steps"
BEST_FILE = "best.json"


def _publish_folder(build, destination: Path) -> None:
    """Fill a hidden temporary folder with ``build(tmp)``, then rename it to ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.parent / temporary_name(destination.name)
    try:
        tmp.mkdir()
        build(tmp)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(tmp, destination)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def record_history(folder: Path, keep_last: int) -> Optional[Path]:
    """Keep the save just written to ``folder`` as ``steps/<step>/`` and prune older ones."""
    if keep_last < 1:
        return None
    folder = Path(folder)
    meta = read_metadata(folder)
    destination = folder / HISTORY_DIR / str(int(meta["step"]))

    def build(tmp: Path) -> None:
        for entry in meta["generators"].values():
            try:
                os.link(folder / entry["file"], tmp / entry["file"])
            except OSError:  # a filesystem without hard links: copy
                shutil.copy2(folder / entry["file"], tmp / entry["file"])
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    _publish_folder(build, destination)
    prune_history(folder, keep_last)
    return destination


def save_best(folder: Path, generators: Dict[str, Tuple[nn.Module, GeneratorSpec]], step: int, translator: str,
              record: Dict[str, Any]) -> Path:
    """Keep the generators of a new best evaluation as ``steps/<step>/``; ``record`` says why."""
    destination = Path(folder) / HISTORY_DIR / str(step)
    _publish_folder(lambda tmp: save_run(tmp, generators, step, translator), destination)
    atomic_write_text(Path(folder) / HISTORY_DIR / BEST_FILE, json.dumps({"step": step, **record}) + "\n")
    return destination


def read_best(folder: Path) -> Optional[Dict[str, Any]]:
    path = Path(folder) / HISTORY_DIR / BEST_FILE
    try:
        best = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return best if isinstance(best, dict) and isinstance(best.get("step"), int) else None


def history_steps(folder: Path) -> List[int]:
    root = Path(folder) / HISTORY_DIR
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir()
                  if p.is_dir() and p.name.isdigit() and (p / METADATA_FILE).exists())


def prune_history(folder: Path, keep_last: int) -> None:
    steps = history_steps(folder)
    keep = set(steps[-keep_last:]) if keep_last > 0 else set()
    best = read_best(folder)
    if best is not None:
        keep.add(best["step"])
    for step in steps:
        if step not in keep:
            shutil.rmtree(Path(folder) / HISTORY_DIR / str(step), ignore_errors=True)


def step_folder(folder: Path, step: int) -> Path:
    """The folder holding step ``step`` of a run (``--step N``); one line listing the steps kept if absent."""
    folder = Path(folder)
    candidate = folder / HISTORY_DIR / str(step)
    if (candidate / METADATA_FILE).exists():
        return candidate
    if folder.is_dir() and (folder / METADATA_FILE).exists() and read_metadata(folder).get("step") == step:
        return folder
    kept = history_steps(folder)
    listed = ", ".join(map(str, kept)) if kept else "none (keep_last=0, or a run from before history)"
    raise CheckpointError(f"{folder}: no step {step} kept (kept steps: {listed})")
