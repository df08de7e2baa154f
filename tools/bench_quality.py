"""Quality at equal steps: train one translator several ways, then measure each on the test split.

    python tools/bench_quality.py                                    # pix2pix on the demo data, fp32 / bf16 / batch 4
    python tools/bench_quality.py --steps 1000 --variant "fp32=--precision fp32" \\
        --variant "ssim_loss=--precision fp32 --set lambda_ssim=1"  # a loss choice against the baseline
    python tools/bench_quality.py --translator cyclegan --data datasets/horse2zebra --metrics fid,kid,cycle_psnr

Every variant is the same ``translate train`` command (same data, steps, seed, network) plus
its own arguments, run in a fresh process so that one variant's threads, caches or crash do not
touch another. Each trained checkpoint is then measured with ``translate eval``'s code on the
test split, and one table compares them: training time, s/step, and every metric. Speed
settings (precision, batch size, compile, channels_last) and loss choices are so compared at
equal steps, in one run, on one machine.

Defaults: pix2pix on datasets/demo_cartoon (build it with ``datasets/make_demo_dataset.py``),
the demo model's small ResNet generator at 64 px, 300 steps, seed 0. Metrics default to the
data's (paired: PSNR, SSIM, LPIPS); metrics whose feature-network weights are not on this
machine are skipped with the file named, as in ``translate eval``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing the package
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

# The bundled demo model's architecture (checkpoints/demo_cartoon/train.sh), smaller crops.
DEMO_NETWORK = ["--set", "preprocess=crop", "--set", "generator=resnet", "--set", "generator_options={n_blocks: 6}",
                "--set", "ngf=24", "--set", "norm=instance", "--set", "dropout=false", "--set", "ndf=32"]
# Tiny networks (milliseconds per step) for the benchmark's own test.
TINY_NETWORK = {
    "pix2pix": ["--set", "ngf=4", "--set", "ndf=4", "--set", "generator=unet",
                "--set", "generator_options={num_downs: 5}", "--set", "n_layers_d=2"],
    "cyclegan": ["--set", "ngf=4", "--set", "ndf=4", "--set", "generator=resnet",
                 "--set", "generator_options={n_blocks: 1}", "--set", "n_layers_d=2"],
}
DEFAULT_VARIANTS = ["fp32=--precision fp32", "bf16=--precision bf16", "batch4=--precision fp32 --batch-size 4"]


@dataclass
class Variant:
    name: str
    args: List[str]
    train_s: Optional[float] = None
    error: Optional[str] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)


def parse_variant(text: str) -> Variant:
    name, sep, args = text.partition("=")
    if not sep or not name.strip():
        raise SystemExit(f"bench_quality: --variant expects NAME=ARGS, got {text!r}")
    return Variant(name.strip(), shlex.split(args))


def train_command(args: argparse.Namespace, variant: Variant, checkpoints: Path) -> List[str]:
    network = TINY_NETWORK[args.translator] if args.tiny else (DEMO_NETWORK if args.translator == "pix2pix" else [])
    return [sys.executable, "-m", "translate", "train", args.translator, "--data", str(args.data),
            "--name", variant.name, "--checkpoints-dir", str(checkpoints), "--steps", str(args.steps),
            "--size", str(args.size), "--seed", str(args.seed), "--num-workers", str(args.num_workers),
            "--set", "log_every=50", "--set", f"save_every={args.steps}", "--set", "tensorboard=false",
            *network, *variant.args]


def train(args: argparse.Namespace, variant: Variant, checkpoints: Path) -> None:
    command = train_command(args, variant, checkpoints)
    print(f"[{variant.name}] {shlex.join(command[2:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    variant.train_s = time.perf_counter() - start
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        variant.error = lines[-1]


def measure(args: argparse.Namespace, variant: Variant, checkpoints: Path, features, device) -> None:
    from translate.eval import EvalOptions, evaluate_checkpoint

    options = EvalOptions(metrics=args.metrics, max_images=args.max_images, progress=False)
    report = evaluate_checkpoint(checkpoints / variant.name, Path(args.data), args.split, features, device,
                                 None, None, options)
    variant.metrics, variant.skipped = report.scalars(), dict(report.skipped)


def table(variants: List[Variant], steps: int) -> str:
    names = list(dict.fromkeys(k for v in variants for k in v.metrics))
    head = ["variant", "args", "train s", "s/step", *names]
    rows = [head, ["---"] * len(head)]
    for v in variants:
        cells = [v.name, " ".join(v.args) or "-", f"{v.train_s:.1f}" if v.train_s else "-",
                 f"{v.train_s / steps:.3f}" if v.train_s else "-"]
        cells += [f"{v.metrics[n]:.4f}" if n in v.metrics else ("failed" if v.error else "-") for n in names]
        rows.append(cells)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--translator", default="pix2pix")
    p.add_argument("--data", default=str(ROOT / "datasets" / "demo_cartoon"))
    p.add_argument("--split", default="test", help="split measured after training (default test)")
    p.add_argument("--steps", type=int, default=300, help="training steps of every variant (default 300)")
    p.add_argument("--size", type=int, default=64, help="training crop (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-workers", type=int, default=1)
    p.add_argument("--variant", action="append", metavar="NAME=ARGS",
                   help="a name and the extra `translate train` arguments of one variant (repeatable); "
                        f"default: {'; '.join(DEFAULT_VARIANTS)}")
    p.add_argument("--metrics", default="", help="comma-separated (default: the data's, as translate eval)")
    p.add_argument("--max-images", type=int, help="measure the first N test images only")
    p.add_argument("--weights-dir", help="feature-network weights folder (default: the torch cache)")
    p.add_argument("--keep", metavar="DIR", help="keep the checkpoints in DIR (default: a temporary folder)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--tiny", action="store_true", help="tiny networks: for testing this script")
    args = p.parse_args(argv)
    args.metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if not Path(args.data).is_dir():
        raise SystemExit(f"bench_quality: {args.data}: no such dataset (python datasets/make_demo_dataset.py builds the demo one)")
    variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    if len({v.name for v in variants}) != len(variants):
        raise SystemExit("bench_quality: variant names must differ")

    import torch

    from translate.devices import configure_threads
    from translate.eval import FeatureNets, WeightPaths

    configure_threads()
    device = torch.device("cpu")  # metrics on CPU: the numbers must not depend on the training device
    features = FeatureNets(WeightPaths(folder=args.weights_dir), device)  # built once, shared by all variants
    with tempfile.TemporaryDirectory(prefix="bench_quality_") as tmp:
        checkpoints = Path(args.keep) if args.keep else Path(tmp)
        for variant in variants:
            train(args, variant, checkpoints)
            if variant.error is None:
                measure(args, variant, checkpoints, features, device)
            print(f"[{variant.name}] {variant.error or variant.metrics}", file=sys.stderr, flush=True)
    skipped = {m: r for v in variants for m, r in v.skipped.items()}
    for metric, reason in skipped.items():
        print(f"skipped {metric}: {reason}", file=sys.stderr)
    print(f"\n{args.translator} on {args.data}, {args.steps} steps at {args.size}px, seed {args.seed}; "
          f"metrics on the {args.split} split\n")
    print(table(variants, args.steps))
    for v in variants:
        if v.error:
            print(f"\n{v.name} failed: {v.error}")
    if args.json:
        from translate.fileio import atomic_write_text

        record = {"translator": args.translator, "data": str(args.data), "steps": args.steps, "size": args.size,
                  "seed": args.seed, "split": args.split,
                  "variants": [{"name": v.name, "args": v.args, "train_s": v.train_s, "error": v.error,
                                "metrics": v.metrics, "skipped": v.skipped} for v in variants]}
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")
    return 1 if any(v.error for v in variants) else 0


if __name__ == "__main__":
    sys.exit(main())
