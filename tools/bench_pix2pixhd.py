"""pix2pixHD training speed and peak memory: global generator at 512x256, local enhancer at 1024x512.

Times the exact step the training loop runs (``Trainer.step``: G step + D step) on Cityscapes-like
input (35 classes + instance-boundary channel -> RGB), full-size networks (global ngf 64, 4
downsamplings, 9 blocks; local ngf 32, one enhancer of 3 blocks; 2- and 3-scale D), feature
matching x10 and VGG19 x10 (random VGG weights: the cost is the same). Each configuration runs
in its own child process so its peak memory (RSS on CPU, max allocated on CUDA) is its own.

    .venv/bin/python tools/bench_pix2pixhd.py                       # CPU: global 512x256, local 1024x512
    .venv/bin/python tools/bench_pix2pixhd.py --device cuda         # + 2048x1024 on a GPU
    .venv/bin/python tools/bench_pix2pixhd.py --precision fp32,bf16 --checkpointing off,on --iters 3
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
TAG = "@@RESULT "

# (generator, width, height, discriminator scales) per device kind; GPUs also get pix2pixHD's 2048x1024.
CASES = {
    "cpu": [("pix2pixhd_global", 512, 256, 2), ("pix2pixhd_local", 1024, 512, 3)],
    "cuda": [("pix2pixhd_global", 512, 256, 2), ("pix2pixhd_global", 1024, 512, 2),
             ("pix2pixhd_local", 1024, 512, 3), ("pix2pixhd_local", 2048, 1024, 3)],
}
NUM_CLASSES = 35


def measure(spec: Dict[str, Any]) -> Dict[str, Any]:
    import torch

    from translate.config import resolve
    from translate.devices import configure_threads, resolve_precision
    from translate.registry import TRANSLATORS
    from translate.training.trainer import Trainer
    from translate.translators.terms import WeightedTerms

    configure_threads()
    device = torch.device(spec["device"])
    sets = [f"generator={spec['generator']}", f"num_classes={NUM_CLASSES}", "instance_maps=true",
            "lambda_perceptual=0", f"num_scales={spec['scales']}",
            f"gradient_checkpointing={'true' if spec['checkpointing'] else 'false'}"]
    run = resolve("pix2pixhd", TRANSLATORS.get("pix2pixhd").Options(), set_pairs=sets)
    translator = TRANSLATORS.get("pix2pixhd")(run.model, run.train)
    # The VGG19 term at pix2pixHD's weight, without needing the ImageNet file: same compute.
    translator.extra = WeightedTerms([("vgg", "perceptual", 10.0, {"pretrained": False})])
    dtype = resolve_precision(spec["precision"], device)
    trainer = Trainer(translator, run.train, device, dtype, total_steps=1000)
    g = torch.Generator().manual_seed(0)
    h, w, b = spec["height"], spec["width"], spec["batch"]
    blocks = torch.randint(0, NUM_CLASSES, (b, 1, h // 32, w // 32), generator=g)
    label = blocks.repeat_interleave(32, 2).repeat_interleave(32, 3)
    batch = trainer.to_device({"A": label, "inst": label * 1000, "B": torch.rand(b, 3, h, w, generator=g) * 2 - 1})
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    trainer.step(batch)  # warm-up (allocations, cudnn autotune)
    times = []
    for _ in range(spec["iters"]):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        trainer.step(batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    params = sum(p.numel() for p in translator.generators.parameters())
    return {**spec, "s_per_step": seconds, "images_per_s": b / seconds, "peak_gib": peak / 2**30,
            "g_params_m": params / 1e6}


def _child(spec: Dict[str, Any], timeout: int) -> Dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"timed out after {timeout}s"}
    for line in done.stdout.splitlines():
        if line.startswith(TAG):
            return json.loads(line[len(TAG):])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {**spec, "error": tail}


def _table(rows: List[Dict[str, Any]]) -> str:
    out = ["| generator | size | D scales | precision | checkpointing | s/step | images/s | peak memory (GiB) |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        size = f"{r['width']}x{r['height']}"
        if "error" in r:
            out.append(f"| {r['generator']} | {size} | {r['scales']} | {r['precision']} | {r['checkpointing']} | "
                       f"error: {r['error']} | | |")
            continue
        out.append(f"| {r['generator']} ({r['g_params_m']:.1f} M) | {size} | {r['scales']} | {r['precision']} | "
                   f"{'on' if r['checkpointing'] else 'off'} | {r['s_per_step']:.2f} | {r['images_per_s']:.3f} | "
                   f"{r['peak_gib']:.2f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (GPU adds 1024x512 global and 2048x1024 local)")
    p.add_argument("--precision", default="fp32,bf16", help="comma list of fp32, bf16, fp16")
    p.add_argument("--checkpointing", default="off", help="comma list of off, on")
    p.add_argument("--iters", type=int, default=2, help="timed steps per configuration (after one warm-up)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--only", help="run only this generator (pix2pixhd_global or pix2pixhd_local)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per configuration")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(TAG + json.dumps(measure(json.loads(args.child))), flush=True)
        return 0
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    rows = []
    for generator, width, height, scales in CASES[kind]:
        if args.only and generator != args.only:
            continue
        for precision in args.precision.split(","):
            for ckpt in args.checkpointing.split(","):
                spec = {"generator": generator, "width": width, "height": height, "scales": scales,
                        "precision": precision, "checkpointing": ckpt == "on", "device": args.device,
                        "iters": args.iters, "batch": args.batch_size}
                rows.append(_child(spec, args.timeout))
                print(_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(f"threads: {os.environ.get('OMP_NUM_THREADS', 'default')}, batch {args.batch_size}, "
          f"median of {args.iters} steps after one warm-up")
    print(_table(rows))
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
