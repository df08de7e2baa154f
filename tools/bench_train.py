"""Training speed of pix2pix and CycleGAN, each speed setting on and off.

    python tools/bench_train.py [--translators pix2pix,cyclegan] [--size 256] [--device auto]
                                [--configs baseline,bf16,...] [--iters N] [--warmup N] [--json OUT]
    python tools/bench_train.py --quality [--quality-steps 300]

Every row times ``Trainer.step``, the exact step ``translate train`` runs, on a fixed
random batch (so data loading is not measured), for the translator's paper preset:
pix2pix = U-Net 256 + PatchGAN, CycleGAN = two ResNet-9 + two PatchGANs with a
50-image pool. Configurations (each in its own process, so peak memory is its own):

    baseline            fp32, batch 1, NCHW, eager (the reference implementation's setting)
    bf16                bf16 autocast
    channels_last       NHWC memory format
    bf16_channels_last  both
    batch4              fp32, batch 4 (compare images/s, not s/iter)
    compile             torch.compile (default mode) of each generator and discriminator
    bf16_checkpointing  bf16 and gradient checkpointing (the least memory)
    checkpointing       fp32 and gradient checkpointing (CPUs without native bf16)

Reported: median s/iteration over the timed iterations (after warm-up), images/s,
achieved GFLOP/s (FLOPs of one step counted once with FlopCounterMode), peak memory
(CPU: the child's peak RSS; CUDA: max_memory_allocated), speed vs the baseline of the
same run, and, on CPU at 256 px, vs the reference implementation's figures in
/work/shared/FACTS.md, which were measured separately.

``--quality`` checks that speed does not cost quality: it trains pix2pix on the paired
demo dataset (datasets/make_demo_dataset.py) with the real training loop, once per
precision, then reports held-out PSNR/SSIM on its test split.
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
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import (ROOT, TINY, count_flops, csv_choices, emit_result, fmt, load_text,  # noqa: E402
                           machine_description, markdown_table, median, peak_memory_mb, ratio, run_child,
                           run_in_process, start_measurement, sync, time_calls, write_json)

CONFIGS: Dict[str, Dict[str, Any]] = {
    "baseline": dict(precision="fp32", channels_last=False, batch_size=1, compile=False),
    "bf16": dict(precision="bf16", channels_last=False, batch_size=1, compile=False),
    "channels_last": dict(precision="fp32", channels_last=True, batch_size=1, compile=False),
    "bf16_channels_last": dict(precision="bf16", channels_last=True, batch_size=1, compile=False),
    "batch4": dict(precision="fp32", channels_last=False, batch_size=4, compile=False),
    "compile": dict(precision="fp32", channels_last=False, batch_size=1, compile=True),
    "bf16_checkpointing": dict(precision="bf16", channels_last=False, batch_size=1, compile=False,
                               options={"gradient_checkpointing": True}),
    # The memory setting on CPUs without native bf16 (where bf16 autocast is emulated and slow).
    "checkpointing": dict(precision="fp32", channels_last=False, batch_size=1, compile=False,
                          options={"gradient_checkpointing": True}),
}
TRANSLATORS = ("pix2pix", "cyclegan", "discogan", "cogan", "cut", "fastcut", "cut_shared")
# Rows that are one translator with options set: FastCUT is CUT in its fastcut mode; cut_shared is
# CUT with its identity term batched with the sources, as the reference runs it.
ALIASES: Dict[str, Tuple[str, Dict[str, Any]]] = {"fastcut": ("cut", {"mode": "fastcut"}),
                                                  "cut_shared": ("cut", {"nce_idt_pass": "shared"})}
DEFAULT_TRANSLATORS = ["pix2pix", "cyclegan"]  # DiscoGAN and CoGAN are 64/128 px models: --translators discogan,cogan --size 64
# Few iterations for CycleGAN: at 256 px on a 2-core CPU one step takes several seconds.
DEFAULT_WARMUP = {"pix2pix": 2, "cyclegan": 1, "discogan": 2, "cogan": 2, "cut": 1, "fastcut": 1, "cut_shared": 1}
DEFAULT_ITERS = {"pix2pix": 5, "cyclegan": 3, "discogan": 5, "cogan": 5, "cut": 3, "fastcut": 3, "cut_shared": 3}

# The reference implementation (pytorch-CycleGAN-and-pix2pix), CPU, 2 threads, batch 1,
# 256x256, from /work/shared/FACTS.md. Measured separately, not in this run.
REFERENCE = {
    "pix2pix": {"s_per_iter": 0.764, "peak_mb": 1.8 * 1024},
    "cyclegan": {"s_per_iter": 11.1, "peak_mb": 4.2 * 1024},
}
REFERENCE_SIZE = 256

# --------------------------------------------------------------------------- one configuration


def measure(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Time one configuration in this process; returns the result row."""
    import torch

    from translate.config import TrainConfig
    from translate.registry import TRANSLATORS as REGISTRY
    from translate.training.trainer import Trainer

    device, amp_dtype = start_measurement(spec)
    name, preset = ALIASES.get(spec["translator"], (spec["translator"], {}))
    cls = REGISTRY.get(name)
    opts = dataclasses.replace(cls.Options(), **preset)
    if spec.get("tiny"):
        opts = dataclasses.replace(opts, **TINY[name])
    if spec.get("options"):
        opts = dataclasses.replace(opts, **spec["options"])
    cfg = TrainConfig(size=spec["size"], batch_size=spec["batch_size"], precision=spec["precision"],
                      channels_last=spec["channels_last"], device=str(device))
    from translate.data.samples import SampleSet

    opts = cls.prepare(opts, cfg, SampleSet(lambda: None, 0))  # options completed as a run completes them
    translator = cls(opts, cfg)
    trainer = Trainer(translator, cfg, device, amp_dtype, total_steps=10**9)

    gen = torch.Generator().manual_seed(spec.get("seed", 0))
    shape = (cfg.batch_size, 3, cfg.size, cfg.size)
    batch = trainer.to_device({"A": torch.rand(shape, generator=gen) * 2 - 1,
                               "B": torch.rand(shape, generator=gen) * 2 - 1})

    def step() -> None:
        trainer.step(batch)

    # The FLOP-counted step is eager and doubles as the first warm-up step.
    flops = count_flops(step)
    compile_s = None
    if spec["compile"]:
        # Per network, not the whole loss: CycleGAN's image pool is Python state whose length
        # changes every step, and compiling the loss recompiles on each change until dynamo
        # gives up (recompile_limit) and runs everything eagerly.
        for nets in (translator.generators, translator.discriminators):
            for key in list(nets.keys()):
                nets[key] = torch.compile(nets[key])
        sync(device)
        start = time.perf_counter()
        step()  # compiles
        sync(device)
        compile_s = time.perf_counter() - start
    for _ in range(max(0, spec["warmup"] - 1)):
        step()
    times = time_calls(step, spec["iters"], device)
    s_iter = median(times)
    return {
        "s_per_iter": s_iter,
        "images_per_s": cfg.batch_size / s_iter,
        "gflop_per_iter": flops / 1e9,
        "gflops": flops / 1e9 / s_iter,
        "peak_mb": peak_memory_mb(device),
        "compile_s": compile_s,
        "times": times,
        "device": str(device),
        "machine": machine_description(device),
    }


# --------------------------------------------------------------------------- the table


def run_benchmarks(args: argparse.Namespace) -> List[Dict[str, Any]]:
    rows = []
    for name in args.translators:
        for config in args.configs:
            spec = {
                "translator": name, "config": config, "size": args.size, "device": args.device,
                "warmup": args.warmup if args.warmup is not None else DEFAULT_WARMUP[name],
                "iters": args.iters if args.iters is not None else DEFAULT_ITERS[name],
                "tiny": args.tiny, **CONFIGS[config],
            }
            print(f"bench_train: {name} {config} ...", file=sys.stderr, flush=True)
            if args.in_process:
                result = run_in_process(measure, spec)
            else:
                timeout = args.compile_timeout if spec["compile"] else args.timeout
                result = run_child(Path(__file__), spec, timeout)
            if "error" in result and spec["compile"]:
                result["error"] = "compile failed or too slow: " + result["error"]
            rows.append({**spec, **result})
            if "error" in result:
                print(f"bench_train: {name} {config} failed: {result['error']}", file=sys.stderr, flush=True)
            write_json(args.json, {"kind": "train_speed", "partial": True, "args": vars(args), "rows": rows})
    add_ratios(rows, args)
    return rows


def add_ratios(rows: List[Dict[str, Any]], args: argparse.Namespace) -> None:
    on_reference_setting = (not args.tiny and args.size == REFERENCE_SIZE
                            and all(r.get("device", "cpu") == "cpu" for r in rows if "error" not in r))
    for row in rows:
        base = next((r for r in rows if r["translator"] == row["translator"] and r["config"] == "baseline"
                     and "error" not in r), None)
        ok = "error" not in row
        row["speed_vs_baseline"] = ratio(row.get("images_per_s"), base and base["images_per_s"]) if ok else None
        ref = REFERENCE.get(row["translator"]) if on_reference_setting and ok else None
        row["speed_vs_reference"] = ratio(row["images_per_s"], 1.0 / ref["s_per_iter"]) if ref else None
        row["memory_vs_reference"] = ratio(row["peak_mb"], ref["peak_mb"]) if ref else None


HEADER = ["translator", "config", "s/iter (median)", "images/s", "GFLOP/iter", "GFLOP/s", "peak MB",
          "speed vs baseline (same run)", "speed vs reference (FACTS.md, measured separately)",
          "peak mem vs reference", "load avg before/after"]


def format_rows(rows: List[Dict[str, Any]]) -> str:
    table = []
    for r in rows:
        if "error" in r:
            table.append([r["translator"], r["config"], f"FAILED: {r['error']}"] + ["-"] * (len(HEADER) - 3))
            continue
        config = r["config"] + (f" (compile {r['compile_s']:.0f} s)" if r.get("compile_s") else "")
        table.append([r["translator"], config, fmt(r["s_per_iter"], 3), fmt(r["images_per_s"]),
                      fmt(r["gflop_per_iter"], 1), fmt(r["gflops"], 0), fmt(r["peak_mb"], 0),
                      fmt(r["speed_vs_baseline"]) + "x" if r["speed_vs_baseline"] else "-",
                      fmt(r["speed_vs_reference"]) + "x" if r["speed_vs_reference"] else "-",
                      fmt(r["memory_vs_reference"]) + "x" if r["memory_vs_reference"] else "-", load_text(r)])
    return markdown_table(HEADER, table)


# --------------------------------------------------------------------------- quality


QUALITY_SET = ["generator=unet", "generator_options={num_downs: 7}", "ngf=32", "ndf=32"]


def quality(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Train pix2pix per precision with the real loop; PSNR/SSIM on the held-out test split."""
    from translate.config import resolve
    from translate.registry import TRANSLATORS as REGISTRY
    from translate.training.loop import train

    data = Path(args.quality_data)
    if not (data / "train").is_dir() or not (data / "test").is_dir():
        raise SystemExit(f"bench_train: {data} has no train/ and test/ (build it: python datasets/make_demo_dataset.py)")
    rows = []
    for precision in args.quality_precisions:
        with tempfile.TemporaryDirectory() as tmp:
            cli_values = {"data": str(data), "name": f"quality_{precision}", "checkpoints_dir": tmp,
                          "size": args.quality_size, "steps": args.quality_steps, "seed": args.seed,
                          "device": args.device, "precision": precision, "num_workers": args.num_workers,
                          "tensorboard": False, "save_every": args.quality_steps,
                          "sample_every": args.quality_steps, "log_every": max(1, args.quality_steps)}
            run = resolve("pix2pix", REGISTRY.get("pix2pix").Options(), cli_values=cli_values,
                          set_pairs=args.quality_set)
            start = time.perf_counter()
            folder = train(run)
            seconds = time.perf_counter() - start
            metrics = evaluate(folder, data / "test", args.device, precision)
        rows.append({"precision": precision, "steps": args.quality_steps, "train_s": seconds,
                     "s_per_step": seconds / args.quality_steps, **metrics})
        print(f"bench_train: quality {precision}: PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f}",
              file=sys.stderr, flush=True)
    return rows


def evaluate(folder: Path, test_dir: Path, device_name: str, precision: str) -> Dict[str, Any]:
    """Mean PSNR/SSIM (data_range 255) of G(A) against B over the side-by-side test pairs."""
    import numpy as np
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from translate.apply.images import translate_tensor
    from translate.interop.loading import load_generator
    from translate.data import list_images, read_image, to_image, to_tensor
    from translate.devices import resolve_device, resolve_precision

    device = resolve_device(device_name)
    dtype = resolve_precision(precision, device)
    net, _ = load_generator(folder)
    net = net.to(device).eval()
    multiple = int(getattr(net, "size_multiple", 1))
    psnr, ssim, psnr_in, ssim_in = [], [], [], []
    paths = list_images(test_dir)
    for path in paths:
        ab = read_image(path)
        half = ab.shape[1] // 2
        a, b = ab[:, :half], ab[:, half:2 * half]
        y = translate_tensor(net, to_tensor(a)[None].to(device), multiple, dtype)
        out = to_image(y[0])
        psnr.append(peak_signal_noise_ratio(b, out, data_range=255))
        ssim.append(structural_similarity(b, out, data_range=255, channel_axis=2))
        psnr_in.append(peak_signal_noise_ratio(b, a, data_range=255))
        ssim_in.append(structural_similarity(b, a, data_range=255, channel_axis=2))
    return {"test_images": len(paths), "psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)),
            "input_psnr": float(np.mean(psnr_in)), "input_ssim": float(np.mean(ssim_in))}


def format_quality(rows: List[Dict[str, Any]]) -> str:
    header = ["precision (train and apply)", "steps", "train s/step", "test images", "PSNR dB", "SSIM",
              "PSNR vs fp32", "SSIM vs fp32"]
    base = next((r for r in rows if r["precision"] == "fp32"), None)
    table = []
    for r in rows:
        dp = f"{r['psnr'] - base['psnr']:+.2f} dB" if base else "-"
        ds = f"{r['ssim'] - base['ssim']:+.4f}" if base else "-"
        table.append([r["precision"], r["steps"], fmt(r["s_per_step"], 3), r["test_images"],
                      f"{r['psnr']:.2f}", f"{r['ssim']:.4f}", dp, ds])
    if rows:
        table.append(["(input A as the output: no model)", "-", "-", rows[0]["test_images"],
                      f"{rows[0]['input_psnr']:.2f}", f"{rows[0]['input_ssim']:.4f}", "-", "-"])
    return markdown_table(header, table)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--translators", type=csv_choices(TRANSLATORS), default=DEFAULT_TRANSLATORS,
                   help="subset of: " + ", ".join(TRANSLATORS) + " (default pix2pix,cyclegan)")
    p.add_argument("--size", type=int, default=256, help="training crop size (default 256)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--iters", type=int, help="timed iterations per config (default: pix2pix 5, cyclegan 3)")
    p.add_argument("--warmup", type=int, help="untimed iterations first, the FLOP-counted one included "
                                              "(default: pix2pix 2, cyclegan 1)")
    p.add_argument("--configs", type=csv_choices(CONFIGS), default=list(CONFIGS), help="subset of: " + ", ".join(CONFIGS))
    p.add_argument("--threads", type=int, help="torch CPU threads (sets OMP_NUM_THREADS; default: torch's, "
                                               "one per core)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--timeout", type=float, default=1200, help="seconds before a config counts as failed")
    p.add_argument("--compile-timeout", type=float, default=600, help="the same for the compile config")
    p.add_argument("--tiny", action="store_true", help="tiny networks (tests: checks the tool, not the speed)")
    p.add_argument("--in-process", action="store_true",
                   help="no child processes (faster start; peak memory is then the whole process's)")
    p.add_argument("--seed", type=int, default=0)
    q = p.add_argument_group("quality (--quality)")
    q.add_argument("--quality", action="store_true", help="train and test pix2pix per precision instead of timing")
    q.add_argument("--quality-data", default=str(ROOT / "datasets" / "demo_cartoon"))
    q.add_argument("--quality-steps", type=int, default=300)
    q.add_argument("--quality-size", type=int, default=128)
    q.add_argument("--quality-precisions", type=csv_choices(("fp32", "bf16", "fp16")), default=["fp32", "bf16"])
    q.add_argument("--quality-set", action="append", metavar="KEY=VALUE",
                   help="config overrides for the quality run (default: " + " ".join(QUALITY_SET) + ")")
    q.add_argument("--num-workers", type=int, default=1, help="data loading processes in the quality run")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # children inherit it; configure_threads reads it
    if args.child:
        emit_result(measure(json.loads(args.child)))
        return 0
    if args.quality:
        args.quality_set = args.quality_set or QUALITY_SET
        rows = quality(args)
        print(f"\npix2pix quality, {args.quality_steps} steps at {args.quality_size} px "
              f"({' '.join(args.quality_set)}), seed {args.seed}; held-out test split of {args.quality_data}\n")
        print(format_quality(rows))
        write_json(args.json, {"kind": "train_quality", "args": vars(args), "rows": rows})
        return 0
    rows = run_benchmarks(args)
    machine = next((r["machine"] for r in rows if "machine" in r), "unknown")
    print(f"\nTraining speed at {args.size}x{args.size}, {machine}. "
          f"s/iter is the median over the timed iterations after warm-up.\n")
    print(format_rows(rows))
    write_json(args.json, {"kind": "train_speed", "args": vars(args), "rows": rows})
    return 0 if all("error" not in r for r in rows if r["config"] != "compile") else 1


if __name__ == "__main__":
    sys.exit(main())
