"""Helpers shared by ``tools/bench_train.py`` and ``tools/bench_apply.py``.

Each benchmark configuration runs in a fresh child process (this same script with
``--child SPEC_JSON``), so its peak RSS is its own and one crash or hang fails one
row instead of the whole table. The child prints one line ``@@RESULT {json}``;
the parent collects those lines, fills in ratios and prints a markdown table.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

RESULT_TAG = "@@RESULT "

# Tiny networks for the tools' own tests: same code paths, milliseconds per step.
# U-Net with 5 levels: sizes must divide by 32.
TINY = {
    "pix2pix": dict(ngf=4, ndf=4, n_layers_d=2, generator="unet", generator_options={"num_downs": 5}),
    "cyclegan": dict(ngf=4, ndf=4, n_layers_d=2, generator="resnet", generator_options={"n_blocks": 1}),
    "discogan": dict(ngf=4, ndf=4),
    "cogan": dict(ngf=4, ndf=4, latent_dim=8, nef=4),
    "cut": dict(ngf=4, ndf=4, n_layers_d=2, generator="resnet", generator_options={"n_blocks": 1}, num_patches=16,
                projection_channels=8),
}


# --------------------------------------------------------------------------- timing


def sync(device) -> None:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], iters: int, device) -> List[float]:
    """Seconds per call of ``fn`` (already warmed up), one entry per call."""
    times = []
    for _ in range(iters):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def count_flops(fn: Callable[[], Any]) -> float:
    """FLOPs of one call of ``fn``, counted by torch.utils.flop_counter (convs and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def peak_memory_mb(device) -> float:
    """CUDA: peak allocated by torch; CPU: this process's peak RSS (Linux reports KiB)."""
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def machine_description(device) -> str:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"CPU {model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


# --------------------------------------------------------------------------- child processes


def load_average() -> Optional[float]:
    """The 1-minute load average: above the core count, other processes were competing."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def emit_result(result: Dict[str, Any]) -> None:
    print(RESULT_TAG + json.dumps(result), flush=True)


def run_child(script: Path, spec: Dict[str, Any], timeout: Optional[float]) -> Dict[str, Any]:
    """Run ``script --child SPEC`` and return its result, or ``{"error": why}``."""
    cmd = [sys.executable, str(script), "--child", json.dumps(spec)]
    load = load_average()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return {**json.loads(line[len(RESULT_TAG):]), "load_before": load, "load_after": load_average()}
    tail = [l for l in (proc.stderr or proc.stdout).strip().splitlines() if l.strip()]
    reason = tail[-1] if tail else "no output"
    return {"error": f"exit code {proc.returncode}: {reason[:200]}"}


def run_in_process(child_main: Callable[[Dict[str, Any]], Dict[str, Any]], spec: Dict[str, Any]) -> Dict[str, Any]:
    """The same measurement without a child process (tests; peak memory is then the whole process's)."""
    load = load_average()
    try:
        return {**child_main(spec), "load_before": load, "load_after": load_average()}
    except Exception as exc:  # a failed configuration is a table row, not a crash
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"}


# --------------------------------------------------------------------------- tables and arguments


def csv_choices(choices: Optional[Sequence[str]] = None) -> Callable[[str], List[str]]:
    """argparse type: ``"a,b"`` -> ``["a", "b"]``, each one of ``choices``."""
    import argparse

    def parse(text: str) -> List[str]:
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if choices is not None and s not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices or [])}; got {text!r}")
        return items

    return parse


def fmt(value: Optional[float], digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def load_text(row: Dict[str, Any]) -> str:
    before, after = row.get("load_before"), row.get("load_after")
    return "-" if before is None else f"{before:.1f}/{after:.1f}"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return a / b


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Optional[str], payload: Dict[str, Any]) -> None:
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")


def start_measurement(spec: Dict[str, Any]):
    """Threads, seed and device for one benchmark row: ``(device, autocast dtype)``."""
    import torch

    from translate.devices import configure_threads, resolve_device, resolve_precision

    configure_threads()
    torch.manual_seed(spec.get("seed", 0))
    device = resolve_device(spec["device"])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    return device, resolve_precision(spec["precision"], device)
