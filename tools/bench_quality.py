"""Quality at equal steps: train one translator several ways, then measure each on the test split.

    python tools/bench_quality.py --tasks cartoon,sketch,unpaired,comic --seeds 0,1,2   # the quality benchmark
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

With ``--tasks``, the tasks of ``datasets/make_bench_tasks.py`` (built offline into --work if
missing: two paired tasks for pix2pix, two unpaired for CycleGAN, test scenes never seen in
training) are each trained with every variant and every seed, and each task's table shows the
mean +- standard deviation over the seeds beside three trivial baselines: ``identity`` (return the
input), ``mean_target`` (the per-pixel mean training target, whatever the input) and ``colour_map``
(one global colour map fitted on the training images: where a residual generator starts). Default
variants there: ``paper`` (``--preset paper``) against ``default`` (the toolkit's defaults). pix2pix
trains its own default network there (the paper's U-Net, six levels for 64 px crops); CycleGAN a
narrower ResNet (ngf 16, 3 blocks) than its default, so that its six generator passes a step fit
the CPU budget. Two-way models also get their cycle PSNR (A -> B -> A against A). Every child trains with
--threads torch threads (default 1: on a busy 2-core machine two OpenMP threads per process
spin-wait on each other; measured 1.4 s/step with two threads, 0.25 with one).

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
    "cut": ["--set", "ngf=4", "--set", "ndf=4", "--set", "generator=resnet", "--set", "generator_options={n_blocks: 1}",
            "--set", "n_layers_d=2", "--set", "num_patches=16", "--set", "projection_channels=8"],
}
DEFAULT_VARIANTS = ["fp32=--precision fp32", "bf16=--precision bf16", "batch4=--precision fp32 --batch-size 4"]
TASK_VARIANTS = ["paper=--preset paper", "default="]
TASK_TRANSLATOR = {"cartoon": "pix2pix", "sketch": "pix2pix", "unpaired": "cyclegan", "comic": "cyclegan"}
# The pix2pix tasks train pix2pix's own network (the paper's U-Net: ngf 64, batch norm, dropout,
# 70x70 PatchGAN), six levels deep so that 64 px crops reach 1x1 as unet_256 does at 256 px.
PIX2PIX_TASK_NETWORK = ["--set", "preprocess=crop", "--set", "generator=unet", "--set", "generator_options={num_downs: 6}"]
# CycleGAN runs six generator passes a step: a narrower network keeps its runs near pix2pix's time.
CYCLEGAN_NETWORK = ["--set", "preprocess=crop", "--set", "generator=resnet", "--set", "generator_options={n_blocks: 3}",
                    "--set", "ngf=16", "--set", "ndf=32"]


@dataclass
class Variant:
    name: str
    args: List[str]
    translator: Optional[str] = None  # its own translator (NAME:TRANSLATOR=ARGS); None = the task's
    train_s: Optional[float] = None
    error: Optional[str] = None
    metrics: Dict[str, float] = field(default_factory=dict)  # mean over the seeds
    skipped: Dict[str, str] = field(default_factory=dict)
    spread: Dict[str, float] = field(default_factory=dict)  # standard deviation over the seeds
    runs: List[Dict] = field(default_factory=list)  # one {seed, train_s, metrics} per seed


def parse_variant(text: str) -> Variant:
    """``NAME=ARGS``, or ``NAME:TRANSLATOR=ARGS`` for a variant that trains another translator on
    the same data (CUT beside CycleGAN on an unpaired task)."""
    name, sep, args = text.partition("=")
    name, _, translator = name.partition(":")
    if not sep or not name.strip():
        raise SystemExit(f"bench_quality: --variant expects NAME=ARGS or NAME:TRANSLATOR=ARGS, got {text!r}")
    return Variant(name.strip(), shlex.split(args), translator.strip() or None)


def translator_of(args: argparse.Namespace, variant: Variant) -> str:
    return variant.translator or args.translator


def unpaired_network(blocks: int) -> List[str]:
    """CYCLEGAN_NETWORK with ``blocks`` residual blocks (CUT's paper layers reach block4: 6 or more)."""
    return [("generator_options={n_blocks: %d}" % blocks) if a.startswith("generator_options=") else a
            for a in CYCLEGAN_NETWORK]


def train_command(args: argparse.Namespace, variant: Variant, checkpoints: Path, seed: int) -> List[str]:
    translator = translator_of(args, variant)
    if args.tiny:
        network = TINY_NETWORK[translator]
    elif translator == "pix2pix":
        network = PIX2PIX_TASK_NETWORK if args.tasks else DEMO_NETWORK
    else:
        network = unpaired_network(args.blocks) if args.tasks else []
    return [sys.executable, "-m", "translate", "train", translator, "--data", str(args.data),
            "--name", run_name(variant, seed), "--checkpoints-dir", str(checkpoints), "--steps", str(args.steps),
            "--size", str(args.size), "--seed", str(seed), "--num-workers", str(args.num_workers),
            "--set", "log_every=50", "--set", f"save_every={args.steps}", "--set", "tensorboard=false",
            *network, *variant.args]


def run_name(variant: Variant, seed: int) -> str:
    return f"{variant.name}_s{seed}"


def train(args: argparse.Namespace, variant: Variant, checkpoints: Path, seed: int) -> Optional[float]:
    """Train one seed of ``variant``; its time in seconds, or None (and ``variant.error``) on failure."""
    command = train_command(args, variant, checkpoints, seed)
    print(f"[{variant.name} seed {seed}] {shlex.join(command[2:])}", file=sys.stderr, flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    start = time.perf_counter()
    # The caller's folder: relative --data/--work paths mean what they meant where the user typed them.
    done = subprocess.run(command, cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        variant.error = lines[-1]
        return None
    return elapsed


def measure(args: argparse.Namespace, variant: Variant, checkpoints: Path, features, device, seed: int):
    from translate.eval import EvalOptions, evaluate_checkpoint

    # Two-way models also get their cycle PSNR (A -> B -> A against A), from eval like the rest.
    metrics = list(args.metrics) + (["cycle_psnr"] if translator_of(args, variant) == "cyclegan" else [])
    options = EvalOptions(metrics=metrics, max_images=args.max_images, progress=False)
    report = evaluate_checkpoint(checkpoints / run_name(variant, seed), Path(args.data), args.split, features,
                                 device, None, None, options)
    variant.skipped.update(report.skipped)
    return report.scalars()


def summarise(variant: Variant) -> None:
    """Mean and standard deviation (over seeds, ddof 0 for one seed) of every metric and the time."""
    import statistics

    if not variant.runs:
        return
    names = list(dict.fromkeys(k for r in variant.runs for k in r["metrics"]))
    for n in names:
        values = [r["metrics"][n] for r in variant.runs if n in r["metrics"]]
        variant.metrics[n] = statistics.fmean(values)
        variant.spread[n] = statistics.stdev(values) if len(values) > 1 else 0.0
    variant.train_s = statistics.fmean(r["train_s"] for r in variant.runs)


def _cell(v: Variant, n: str) -> str:
    if n not in v.metrics:
        return "failed" if v.error else "-"
    if len(v.runs) > 1:
        return f"{v.metrics[n]:.3f} ± {v.spread[n]:.3f}"
    return f"{v.metrics[n]:.4f}"


def table(variants: List[Variant], steps: int, baselines: Optional[Dict[str, Dict[str, float]]] = None) -> str:
    names = list(dict.fromkeys(k for v in variants for k in v.metrics))
    if not names and baselines:
        names = list(dict.fromkeys(k for b in baselines.values() for k in b))
    head = ["variant", "args", "seeds", "train s", "s/step", *names]
    rows = [head, ["---"] * len(head)]
    for name, scores in (baselines or {}).items():
        rows.append([name, "(baseline)", "-", "-", "-", *(f"{scores[n]:.4f}" if n in scores else "-" for n in names)])
    for v in variants:
        cells = [v.name, " ".join(([v.translator] if v.translator else []) + v.args) or "-", str(len(v.runs)), f"{v.train_s:.1f}" if v.train_s else "-",
                 f"{v.train_s / steps:.3f}" if v.train_s else "-"]
        cells += [_cell(v, n) for n in names]
        rows.append(cells)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def _pairs(folder: Path):
    """(A, B) uint8 HWC halves of every side-by-side image in ``folder``."""
    from translate.data import list_images, read_image

    for path in list_images(folder):
        image = read_image(path)
        half = image.shape[1] // 2
        yield image[:, :half], image[:, half:]


def _as_batch(images):
    """uint8 HxWxC images -> one uint8 NxCxHxW tensor, as the metrics take them."""
    import numpy as np
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def _singles(folder: Path):
    from translate.data import list_images, read_image

    return [read_image(p) for p in list_images(folder)]


def _training_images(data: Path):
    """(paired, {"A": images, "B": images}) of ``data``'s training split: the halves of train/'s
    side-by-side pairs, or trainA/ and trainB/ of an unpaired dataset."""
    paired = not (data / "trainA").is_dir()
    if paired:
        pairs = list(_pairs(data / "train"))
        return True, {"A": [a for a, _ in pairs], "B": [b for _, b in pairs]}
    return False, {"A": _singles(data / "trainA"), "B": _singles(data / "trainB")}


COLOUR_FIT_IMAGES = 256


def _colour_mapped(images, train_inputs, train_targets, paired: bool):
    """``images`` through the global colour map fitted on the training images (translate.nets.
    colour_maps: least squares on pairs, the colour transfer between unpaired domains), as uint8."""
    import torch

    from translate.nets.colour_maps import apply_map, least_squares_map, transport_map

    def scaled(batch):  # uint8 -> [-1, 1], the scale the generators fit their maps on
        return _as_batch(batch).double() / 127.5 - 1.0

    fit = least_squares_map if paired else transport_map
    step = max(1, len(train_inputs) // COLOUR_FIT_IMAGES)  # evenly spread: a few hundred images pin 12 numbers
    mapped = apply_map(scaled(images), *fit(scaled(train_inputs[::step]), scaled(train_targets[::step])))
    as_uint8 = ((mapped.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return [image.permute(1, 2, 0).numpy() for image in as_uint8]


def baselines(data: Path, split: str, directions: List[str], features) -> Dict[str, Dict[str, float]]:
    """Scores of three trivial translators on a paired test split, named like the models' metrics:
    ``identity`` returns the input; ``mean_target`` returns the per-pixel mean training target
    (resized to the test image), whatever the input; ``colour_map`` applies one global affine colour
    map fitted on the training images (least squares on pairs; the colour transfer between the two
    domains when unpaired), which is where a residual generator starts."""
    import cv2
    import numpy as np

    from translate.eval.metrics import METRICS

    test = list(_pairs(data / split))
    paired, train_images = _training_images(data)
    h, w = test[0][0].shape[:2]
    out: Dict[str, Dict[str, float]] = {"identity": {}, "mean_target": {}, "colour_map": {}}
    for direction in directions:
        source, target = ("A", "B") if direction == "AtoB" else ("B", "A")
        stack = np.stack([cv2.resize(t, (w, h), interpolation=cv2.INTER_AREA) for t in train_images[target]])
        mean = np.rint(stack.astype(np.float64).mean(axis=0)).astype(np.uint8)
        inputs, targets = zip(*(((a, b) if direction == "AtoB" else (b, a)) for a, b in test))
        mapped = _colour_mapped(inputs, train_images[source], train_images[target], paired)
        for name, preds in (("identity", inputs), ("mean_target", [mean] * len(targets)), ("colour_map", mapped)):
            for metric in ("psnr", "ssim"):
                scores = METRICS.build(metric, features=features).score(_as_batch(preds), _as_batch(targets))
                out[name][f"{metric}_{direction}"] = float(scores.double().mean())
    return out


def run_variants(args, variants: List[Variant], features, device) -> None:
    """Train every (variant, seed), ``args.jobs`` at a time, then measure each trained checkpoint."""
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(prefix="bench_quality_") as tmp:
        checkpoints = Path(args.keep) if args.keep else Path(tmp)
        work = [(v, seed) for v in variants for seed in args.seeds]
        # Each child is its own process with --threads torch threads; the pool only waits on them.
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            times = list(pool.map(lambda job: train(args, job[0], checkpoints, job[1]), work))
        for (variant, seed), elapsed in zip(work, times):
            if elapsed is None:
                continue
            metrics = measure(args, variant, checkpoints, features, device, seed)
            variant.runs.append({"seed": seed, "train_s": elapsed, "metrics": metrics})
            print(f"[{variant.name} seed {seed}] {metrics}", file=sys.stderr, flush=True)
        for variant in variants:
            summarise(variant)
            if variant.error:
                print(f"[{variant.name}] {variant.error}", file=sys.stderr, flush=True)


def score_checkpoint(args, features, device) -> int:
    """A trained model's held-out scores beside the trivial baselines, printed and written to --json."""
    from translate.checkpoint import read_metadata
    from translate.eval import EvalOptions, evaluate_checkpoint

    directions = sorted(read_metadata(Path(args.score))["generators"])
    metrics = list(args.metrics or ["psnr", "ssim"]) + (["cycle_psnr"] if len(directions) == 2 else [])  # two-way
    options = EvalOptions(metrics=metrics, max_images=args.max_images, progress=False)
    report = evaluate_checkpoint(Path(args.score), Path(args.data), args.split, features, device, None, None, options)
    scores = {"model": report.scalars(), **baselines(Path(args.data), args.split, directions, features)}
    names = list(scores["model"])
    print("| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for row, values in scores.items():
        print(f"| {row} | " + " | ".join(f"{values.get(n, float('nan')):.4f}" for n in names) + " |")
    if args.json:
        from translate.fileio import atomic_write_text

        record = {"checkpoint": str(args.score), "data": str(args.data), "split": args.split, "scores": scores}
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")
    return 0


PICTURE_HEIGHT = 128


def _labelled(image, label: str):
    """``image`` (uint8 HxWxC) resized to PICTURE_HEIGHT with ``label`` written in a white band above it."""
    import cv2
    import numpy as np

    h, w = image.shape[:2]
    width = max(1, round(w * PICTURE_HEIGHT / h))
    body = cv2.resize(image, (width, PICTURE_HEIGHT), interpolation=cv2.INTER_AREA)
    band = np.full((18, width, 3), 255, np.uint8)
    cv2.putText(band, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([band, body], axis=0)


def comparison_picture(models: List[str], data: Path, split: str, out: Path, count: int = 4,
                       direction: str = "AtoB") -> Path:
    """One picture of the first ``count`` test images, a row each: input | colour map (the
    trivial baseline every residual model starts at) | each of ``models`` (``NAME=CHECKPOINT``) |
    the true target. The same split and baseline as the tables, so a table's numbers can be seen."""
    import numpy as np

    from translate.api import load
    from translate.data import write_image

    test = list(_pairs(data / split))[:count]
    if not test:
        raise SystemExit(f"bench_quality: {data / split}: no test images for --picture")
    source, target = ("A", "B") if direction == "AtoB" else ("B", "A")
    inputs = [a if direction == "AtoB" else b for a, b in test]
    targets = [b if direction == "AtoB" else a for a, b in test]
    paired, train_images = _training_images(data)
    columns = [("input", inputs), ("colour map", _colour_mapped(inputs, train_images[source],
                                                               train_images[target], paired))]
    for spec in models:
        name, sep, checkpoint = spec.partition("=")
        if not sep or not name or not checkpoint:
            raise SystemExit(f"bench_quality: --picture-model expects NAME=CHECKPOINT, got {spec!r}")
        model = load(checkpoint, direction=direction, device="cpu")
        columns.append((name, [model(image) for image in inputs]))
    columns.append(("target", targets))
    gap = np.full((PICTURE_HEIGHT + 18, 4, 3), 255, np.uint8)
    rows = []
    for i in range(len(inputs)):
        cells = [_labelled(images[i], label if i == 0 else "") for label, images in columns]
        rows.append(np.concatenate([c for cell in cells for c in (cell, gap)][:-1], axis=1))
    write_image(out, np.concatenate(rows, axis=0))
    return Path(out)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--translator", default="pix2pix")
    p.add_argument("--data", default=str(ROOT / "datasets" / "demo_cartoon"))
    p.add_argument("--tasks", default="", help="comma-separated tasks of datasets/make_bench_tasks.py "
                                               "(cartoon, sketch, unpaired): overrides --data and --translator")
    p.add_argument("--work", default=str(ROOT / "datasets" / "bench_quality"), help="where --tasks' data is built")
    p.add_argument("--split", default="test", help="split measured after training (default test)")
    p.add_argument("--steps", type=int, default=300, help="training steps of every variant (default 300)")
    p.add_argument("--size", type=int, default=64, help="training crop (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", default="", help="comma-separated seeds, each a separate run (default: --seed)")
    p.add_argument("--blocks", type=int, default=3, help="residual blocks of the unpaired tasks' ResNet (default 3; "
                                                         "6 for CUT's paper layers, which reach block4)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of each training child (default 1)")
    p.add_argument("--num-workers", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1, help="trainings run at once (default 1; 2 on this 2-core machine "
                                                       "with --threads 1 halves the wall time, s/step then shares it)")
    p.add_argument("--variant", action="append", metavar="NAME=ARGS",
                   help="a name and the extra `translate train` arguments of one variant (repeatable); "
                        f"default: {'; '.join(DEFAULT_VARIANTS)} (with --tasks: {'; '.join(TASK_VARIANTS)})")
    p.add_argument("--metrics", default="", help="comma-separated (default: the data's, as translate eval)")
    p.add_argument("--max-images", type=int, help="measure the first N test images only")
    p.add_argument("--weights-dir", help="feature-network weights folder (default: the torch cache)")
    p.add_argument("--keep", metavar="DIR", help="keep the checkpoints in DIR (default: a temporary folder)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--tiny", action="store_true", help="tiny networks: for testing this script")
    p.add_argument("--score", metavar="CHECKPOINT", help="train nothing: score CHECKPOINT on --data's split beside "
                                                         "the baselines (the demo models' scores.json)")
    p.add_argument("--picture", metavar="OUT", help="train nothing: write a picture of --data's first test images "
                                                   "(input | colour map | each --picture-model | target) to OUT")
    p.add_argument("--picture-model", action="append", default=[], metavar="NAME=CHECKPOINT",
                   help="a trained model shown in --picture (repeatable)")
    p.add_argument("--picture-count", type=int, default=4, help="test images in --picture (default 4)")
    p.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"), help="--picture's direction")
    args = p.parse_args(argv)
    if args.picture:
        written = comparison_picture(args.picture_model, Path(args.data), args.split, Path(args.picture),
                                     args.picture_count, args.direction)
        print(written)
        return 0
    args.metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()] or [args.seed]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASK_TRANSLATOR]
    if unknown:
        raise SystemExit(f"bench_quality: unknown task {unknown[0]!r}; valid: {', '.join(TASK_TRANSLATOR)}")
    if not tasks and not Path(args.data).is_dir():
        raise SystemExit(f"bench_quality: {args.data}: no such dataset (python datasets/make_demo_dataset.py builds the demo one)")
    specs = [parse_variant(v) for v in (args.variant or (TASK_VARIANTS if tasks else DEFAULT_VARIANTS))]
    if len({v.name for v in specs}) != len(specs):
        raise SystemExit("bench_quality: variant names must differ")

    import torch

    from translate.devices import configure_threads
    from translate.eval import FeatureNets, WeightPaths

    configure_threads()
    device = torch.device("cpu")  # metrics on CPU: the numbers must not depend on the training device
    features = FeatureNets(WeightPaths(folder=args.weights_dir), device)  # built once, shared by all variants
    if args.score:
        return score_checkpoint(args, features, device)
    if tasks:
        work = Path(args.work)
        if not all((work / t).is_dir() for t in tasks):
            sys.path.insert(0, str(ROOT / "datasets"))
            from make_bench_tasks import build

            build(work, size=args.size, count=40 if args.tiny else 160, test_count=4 if args.tiny else 16)
    results = []
    for task in tasks or [None]:
        run_args = argparse.Namespace(**vars(args))
        if task:
            run_args.translator, run_args.data = TASK_TRANSLATOR[task], str(Path(args.work) / task)
            run_args.keep = str(Path(args.keep) / task) if args.keep else None
        variants = [Variant(v.name, list(v.args), v.translator) for v in specs]
        run_variants(run_args, variants, features, device)
        base = None
        if task:
            directions = ["AtoB"] if run_args.translator == "pix2pix" else ["AtoB", "BtoA"]
            base = baselines(Path(run_args.data), args.split, directions, features)
        results.append((task, run_args, variants, base))

    record = {"steps": args.steps, "size": args.size, "seeds": args.seeds, "split": args.split, "tasks": []}
    for task, run_args, variants, base in results:
        for metric, reason in {m: r for v in variants for m, r in v.skipped.items()}.items():
            print(f"skipped {metric}: {reason}", file=sys.stderr)
        print(f"\n{task or ''} {run_args.translator} on {run_args.data}, {args.steps} steps at {args.size}px, "
              f"seeds {','.join(map(str, args.seeds))}; metrics on the {args.split} split\n")
        print(table(variants, args.steps, base))
        for v in variants:
            if v.error:
                print(f"\n{v.name} failed: {v.error}")
        record["tasks"].append({
            "task": task, "translator": run_args.translator, "data": str(run_args.data), "baselines": base,
            "variants": [{"name": v.name, "translator": v.translator or run_args.translator, "args": v.args, "train_s": v.train_s, "error": v.error,
                          "metrics": v.metrics, "std": v.spread, "runs": v.runs, "skipped": v.skipped}
                         for v in variants]})
    if args.json:
        from translate.fileio import atomic_write_text

        if len(record["tasks"]) == 1:  # one dataset: its variants at the top level, as before
            record.update({k: record["tasks"][0][k] for k in ("translator", "data", "variants")})
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")
    return 1 if any(v.error for _, _, variants, _ in results for v in variants) else 0


if __name__ == "__main__":
    sys.exit(main())
