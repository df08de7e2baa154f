"""Apply (inference) speed of the pix2pix and CycleGAN generators.

    python tools/bench_apply.py [--models pix2pix,cyclegan] [--size 256] [--device auto]
                                [--configs baseline,bf16,...] [--images 16] [--json OUT]

Two measurements per configuration, each configuration in its own process:

* end to end: ``translate.apply.images.apply_to_images`` (what ``translate apply``
  runs) over a temporary folder of ``--images`` generated JPEGs: read, translate,
  write. images/s = images / median wall time over ``--repeats`` passes;
* model only: ``translate_tensor`` on a random batch already in memory, median over
  ``--iters`` calls.

Generators are the translators' paper presets in eval mode, randomly initialised
(speed does not depend on the weights): pix2pix = unet_256 (batch norm, dropout),
CycleGAN = resnet_9blocks (instance norm). Configurations:

    baseline            fp32, batch 1 (the reference implementation's setting)
    bf16                bf16 autocast, batch 1
    batch4              fp32, batch 4
    bf16_batch4         bf16, batch 4
    channels_last       fp32, batch 1, generator weights in NHWC memory format

Ratios are against the baseline of the same run and, on CPU at 256 px, against the
reference implementation's test speed in /work/shared/FACTS.md (measured separately;
the reference's pix2pix test keeps batch norm and dropout in training mode).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import (TINY, count_flops, csv_choices, emit_result, fmt, machine_description,  # noqa: E402
                           load_text, markdown_table, median, peak_memory_mb, ratio, run_child, run_in_process, sync,
                           start_measurement, time_calls, write_json)

CONFIGS: Dict[str, Dict[str, Any]] = {
    "baseline": dict(precision="fp32", batch_size=1, channels_last=False),
    "bf16": dict(precision="bf16", batch_size=1, channels_last=False),
    "batch4": dict(precision="fp32", batch_size=4, channels_last=False),
    "bf16_batch4": dict(precision="bf16", batch_size=4, channels_last=False),
    "channels_last": dict(precision="fp32", batch_size=1, channels_last=True),
}
MODELS = ("pix2pix", "cyclegan", "discogan")
DEFAULT_MODELS = ["pix2pix", "cyclegan"]  # DiscoGAN's encoder-decoder is a 64/128 px model: --models discogan --size 64

# The reference implementation's test script, CPU, 2 threads, 256x256, end to end
# (from /work/shared/FACTS.md; measured separately, not in this run).
REFERENCE_IMAGES_PER_S = {"pix2pix": 5.1, "cyclegan": 1.6}
REFERENCE_SIZE = 256


def build_net(model: str, tiny: bool):
    """The translator's preset generator, built the way a checkpoint rebuilds it."""
    from translate.registry import TRANSLATORS
    from translate.translators.base import build_generator_from_spec, generator_spec

    opts = TRANSLATORS.get(model).Options()
    if tiny:
        opts = dataclasses.replace(opts, **TINY[model])
    spec = generator_spec(opts, 3, 3, model, "AtoB", {})
    return build_generator_from_spec(spec, opts), spec


def make_images(folder: Path, count: int, size: int, seed: int = 0) -> List[Path]:
    """``count`` smooth random colour JPEGs of size x size (JPEG-friendly, like photos)."""
    import cv2
    import numpy as np

    from translate.data import write_image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        small = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
        image = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        paths.append(write_image(folder / f"img_{i:04d}.jpg", image))
    return paths


def measure(spec: Dict[str, Any]) -> Dict[str, Any]:
    import torch

    from translate.apply.images import apply_to_images, translate_tensor
    from translate.apply.model import Model
    from translate.devices import precision_name

    device, dtype = start_measurement(spec)
    net, generator_spec = build_net(spec["model"], spec.get("tiny", False))
    net = net.to(device).eval()
    if spec["channels_last"]:
        net = net.to(memory_format=torch.channels_last)
    multiple = net.size_multiple
    # End to end goes through the inference object apply uses (whole frames: these fit).
    model = Model(net, generator_spec, device=str(device), precision=precision_name(dtype), tile="off")
    batch = spec["batch_size"]

    # Model only: a batch already in memory.
    x = (torch.rand(batch, 3, spec["size"], spec["size"]) * 2 - 1).to(device)
    if spec["channels_last"]:
        x = x.contiguous(memory_format=torch.channels_last)

    def forward() -> None:
        translate_tensor(net, x, multiple, dtype)

    flops = count_flops(forward)  # first warm-up call
    for _ in range(max(0, spec["warmup"] - 1)):
        forward()
    model_times = time_calls(forward, spec["iters"], device)

    # End to end through apply_to_images.
    with tempfile.TemporaryDirectory() as tmp:
        sources = make_images(Path(tmp) / "in", spec["images"], spec["size"])
        pairs = [(src, Path(tmp) / "out" / src.name) for src in sources]
        apply_to_images(model, pairs[:batch], batch, None, progress=False)  # warm-up
        e2e_times = []
        for _ in range(spec["repeats"]):
            sync(device)
            start = time.perf_counter()
            report = apply_to_images(model, pairs, batch, None, progress=False)
            sync(device)
            e2e_times.append(time.perf_counter() - start)
            if not report.ok or len(report.written) != len(pairs):
                raise RuntimeError(f"apply failed: {report.failed[:1]}")

    model_s = median(model_times)
    return {
        "model_images_per_s": batch / model_s,
        "e2e_images_per_s": spec["images"] / median(e2e_times),
        "gflop_per_image": flops / 1e9 / batch,
        "gflops": flops / 1e9 / model_s,
        "peak_mb": peak_memory_mb(device),
        "model_times": model_times,
        "e2e_times": e2e_times,
        "device": str(device),
        "machine": machine_description(device),
    }


def run_benchmarks(args: argparse.Namespace) -> List[Dict[str, Any]]:
    rows = []
    for model in args.models:
        for config in args.configs:
            spec = {"model": model, "config": config, "size": args.size, "device": args.device,
                    "images": args.images, "repeats": args.repeats, "warmup": args.warmup, "iters": args.iters,
                    "tiny": args.tiny, **CONFIGS[config]}
            print(f"bench_apply: {model} {config} ...", file=sys.stderr, flush=True)
            result = (run_in_process(measure, spec) if args.in_process
                      else run_child(Path(__file__), spec, args.timeout))
            rows.append({**spec, **result})
            if "error" in result:
                print(f"bench_apply: {model} {config} failed: {result['error']}", file=sys.stderr, flush=True)
            write_json(args.json, {"kind": "apply_speed", "partial": True, "args": vars(args), "rows": rows})
    on_reference_setting = (not args.tiny and args.size == REFERENCE_SIZE
                            and all(r.get("device", "cpu") == "cpu" for r in rows if "error" not in r))
    for row in rows:
        base = next((r for r in rows if r["model"] == row["model"] and r["config"] == "baseline"
                     and "error" not in r), None)
        ok = "error" not in row
        row["e2e_vs_baseline"] = ratio(row.get("e2e_images_per_s"), base and base["e2e_images_per_s"]) if ok else None
        row["model_vs_baseline"] = (ratio(row.get("model_images_per_s"), base and base["model_images_per_s"])
                                    if ok else None)
        ref = REFERENCE_IMAGES_PER_S.get(row["model"]) if on_reference_setting and ok else None
        row["e2e_vs_reference"] = ratio(row["e2e_images_per_s"], ref) if ref else None
    return rows


HEADER = ["model", "config", "end-to-end images/s (median)", "model-only images/s (median)", "GFLOP/image",
          "GFLOP/s (model only)", "peak MB", "end-to-end vs baseline (same run)", "model-only vs baseline",
          "end-to-end vs reference (FACTS.md, measured separately)", "load avg before/after"]


def format_rows(rows: List[Dict[str, Any]]) -> str:
    def x(value: Optional[float]) -> str:
        return fmt(value) + "x" if value else "-"

    table = []
    for r in rows:
        if "error" in r:
            table.append([r["model"], r["config"], f"FAILED: {r['error']}"] + ["-"] * (len(HEADER) - 3))
            continue
        table.append([r["model"], r["config"], fmt(r["e2e_images_per_s"]), fmt(r["model_images_per_s"]),
                      fmt(r["gflop_per_image"], 1), fmt(r["gflops"], 0), fmt(r["peak_mb"], 0),
                      x(r["e2e_vs_baseline"]), x(r["model_vs_baseline"]), x(r["e2e_vs_reference"]),
                      load_text(r)])
    return markdown_table(HEADER, table)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=csv_choices(MODELS), default=DEFAULT_MODELS,
                   help="subset of: " + ", ".join(MODELS) + " (default pix2pix,cyclegan)")
    p.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--configs", type=csv_choices(CONFIGS), default=list(CONFIGS),
                   help="subset of: " + ", ".join(CONFIGS))
    p.add_argument("--images", type=int, default=16, help="JPEGs in the end-to-end folder (default 16)")
    p.add_argument("--repeats", type=int, default=3, help="timed end-to-end passes over the folder (default 3)")
    p.add_argument("--iters", type=int, default=5, help="timed model-only calls (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed model-only calls first (default 2)")
    p.add_argument("--threads", type=int, help="torch CPU threads (sets OMP_NUM_THREADS; default: torch's, "
                                               "one per core)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--timeout", type=float, default=900, help="seconds before a config counts as failed")
    p.add_argument("--tiny", action="store_true", help="tiny networks (tests: checks the tool, not the speed)")
    p.add_argument("--in-process", action="store_true",
                   help="no child processes (faster start; peak memory is then the whole process's)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # children inherit it; configure_threads reads it
    if args.child:
        emit_result(measure(json.loads(args.child)))
        return 0
    rows = run_benchmarks(args)
    machine = next((r["machine"] for r in rows if "machine" in r), "unknown")
    print(f"\nApply speed at {args.size}x{args.size}, {machine}, eval mode; {args.images} JPEGs end to end. "
          f"Throughputs are medians ({args.repeats} end-to-end passes, {args.iters} model-only calls) "
          f"after warm-up.\n")
    print(format_rows(rows))
    write_json(args.json, {"kind": "apply_speed", "args": vars(args), "rows": rows})
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
