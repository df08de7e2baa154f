"""Watching a run: progress bar, TensorBoard scalars and image grids, and an HTML page.

Only rank 0 creates a ``Watcher``; other ranks get ``NullWatcher`` so the loop
never asks "am I rank 0?" at every call site.
"""
from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Dict, List, Tuple

import torch
from tqdm import tqdm

from translate.data import to_image, write_image
from translate.fileio import atomic_write_text


_ROW = re.compile(r"<tr><th>epoch \d+<br>step (\d+)</th>.*?</tr>")


def _previous_rows(page: Path, up_to_step: int) -> List[str]:
    try:
        text = page.read_text()
    except OSError:
        return []
    return [m.group(0) for m in _ROW.finditer(text) if int(m.group(1)) <= up_to_step]


def _previous_metrics(log: Path, up_to_step: int) -> List[Dict[str, float]]:
    import json

    try:
        records = json.loads(log.read_text())
    except (OSError, ValueError):
        return []
    rows = []
    for record in records if isinstance(records, list) else []:
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(step, int) or step > up_to_step:
            continue
        values = {(m["metric"] if not m.get("direction") else f"{m['metric']}_{m['direction']}"): m["value"]
                  for m in record.get("metrics", []) if isinstance(m, dict) and "metric" in m and "value" in m}
        rows.append({"step": step, **values})
    return sorted(rows, key=lambda r: -r["step"])


def speed(images: int, seconds: float) -> Tuple[str, str]:
    """The progress bar's speed: ``("img/s", "12.3")``, or ``("s/img", "4.2")`` below one image a
    second, where images per second would read 0.0 on a slow CPU run."""
    if images <= 0 or seconds <= 0:
        return "img/s", "-"
    rate = images / seconds
    return ("img/s", f"{rate:.1f}") if rate >= 1 else ("s/img", f"{seconds / images:.1f}")


class NullWatcher:
    def step(self, step: int, logs: Dict[str, float], images: int) -> None: ...
    def samples(self, step: int, epoch: int, visuals: Dict[str, torch.Tensor]) -> None: ...
    def metrics(self, step: int, values: Dict[str, float]) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class Watcher(NullWatcher):
    def __init__(self, folder: Path, start_step: int, total_steps: int, log_every: int, tensorboard: bool):
        self.folder = Path(folder)
        self.log_every = log_every
        self.bar = tqdm(total=total_steps, initial=start_step, desc="train", unit="step", dynamic_ncols=True)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.folder / "tensorboard"))
            except ImportError:  # tensorboard is optional at run time
                self.bar.write("tensorboard is not installed: scalars go to the progress bar only")
        # A resumed run keeps the page's history: rows up to the step it resumes from (later
        # ones are redone by this run).
        self.web_rows: List[str] = _previous_rows(self.folder / "web" / "index.html", start_step)
        # One per evaluation: step and values, newest first (a resumed run's come from eval_log.json).
        self.metric_rows: List[Dict[str, float]] = _previous_metrics(self.folder / "eval_log.json", start_step)
        self._last = time.perf_counter()
        self._images = 0

    def step(self, step: int, logs: Dict[str, float], images: int) -> None:
        """``logs`` is empty on steps the loop does not log (it reads losses every ``log_every``
        steps, and at the first and last step): the bar keeps the last values shown."""
        self._images += images
        self.bar.update(1)
        if logs:
            now = time.perf_counter()
            seconds = now - self._last
            rate = self._images / max(seconds, 1e-9)
            unit, value = speed(self._images, seconds)
            self._last, self._images = now, 0
            shown = {k: f"{v:.3f}" for k, v in logs.items()}
            shown[unit] = value
            self.bar.set_postfix(shown, refresh=False)
            if self.writer is not None:
                for key, value in logs.items():
                    self.writer.add_scalar(f"loss/{key}", value, step)
                self.writer.add_scalar("speed/images_per_s", rate, step)

    def samples(self, step: int, epoch: int, visuals: Dict[str, torch.Tensor]) -> None:
        """One row per call in web/index.html, and the same images in TensorBoard."""
        image_dir = self.folder / "web" / "images"
        cells = []
        for label, batch in visuals.items():
            first = batch[0].detach().float().cpu()
            name = f"step{step:07d}_{label}.png"
            write_image(image_dir / name, to_image(first))
            cells.append(f'<td><img src="images/{name}" width="192"><br>{html.escape(label)}</td>')
            if self.writer is not None:
                self.writer.add_image(f"samples/{label}", (first.clamp(-1, 1) + 1) / 2, step)
        self.web_rows.insert(0, f"<tr><th>epoch {epoch}<br>step {step}</th>{''.join(cells)}</tr>")
        self._write_page()

    def metrics(self, step: int, values: Dict[str, float]) -> None:
        """Quality metrics (translate.eval): TensorBoard ``eval/<name>``, a line, a table on the page."""
        if not values:
            return
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(f"eval/{key}", value, step)
        self.bar.write(f"eval @ step {step}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
        self.metric_rows.insert(0, {"step": step, **values})
        self._write_page()

    def _metrics_table(self) -> str:
        if not self.metric_rows:
            return ""
        names = list(dict.fromkeys(k for row in self.metric_rows for k in row if k != "step"))
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ["step", *names])
        body = "".join(
            "<tr>" + f"<td>{row['step']}</td>"
            + "".join(f"<td>{row[n]:.4g}</td>" if n in row else "<td></td>" for n in names) + "</tr>"
            for row in self.metric_rows
        )
        return f"<h2>quality (translate eval)</h2><table class='metrics'><tr>{head}</tr>{body}</table><h2>samples</h2>"

    def _write_page(self) -> None:
        page = ("<!doctype html><meta charset='utf-8'><title>training samples</title>"
                "<style>body{font-family:sans-serif} td,th{padding:4px;text-align:center}</style>"
                f"<h1>{html.escape(self.folder.name)}</h1>{self._metrics_table()}"
                f"<table>{''.join(self.web_rows)}</table>")
        atomic_write_text(self.folder / "web" / "index.html", page)

    def message(self, text: str) -> None:
        self.bar.write(text)

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
