"""The reference CUT / FastCUT (taesungp/contrastive-unpaired-translation), run here on CPU.

    python tools/bench_reference_cut.py --reference /work/refcut --deps /work/refcut_deps \\
        --mode quality --data datasets/bench_quality/comic --size 128 --steps 600 --seeds 0,1,2 \\
        --ngf 16 --ndf 32 --net-g resnet_6blocks [--cut-mode CUT,FastCUT] [--json OUT]
    python tools/bench_reference_cut.py --reference /work/refcut --deps /work/refcut_deps \\
        --mode speed [--size 256] [--cut-mode CUT,FastCUT] [--iters 3] [--warmup 1] [--threads 2] [--json OUT]

translate's CUT/FastCUT is compared against the authors' code run on this machine, on the same
data, for the same number of steps. Their code is not part of translate: it runs from a checkout
named by --reference, in child processes only (one per configuration and seed, so each peak RSS is
its own and one crash fails one row). Set-up, once::

    G=/work/.mirror/taesungp+contrastive-unpaired-translation/repo   # or a clone of the GitHub repo
    mkdir -p /work/refcut
    git --git-dir=$G archive HEAD -- . ':(exclude)imgs/*.gif' | tar -x -C /work/refcut
    .venv/bin/pip install --target /work/refcut_deps dominate

(the mirror lacks the two README GIFs, so a plain ``git archive HEAD`` stops with "invalid
object"). The reference needs only torch, torchvision, numpy and Pillow, which our venv has, plus
``dominate`` for its HTML visualiser (train.py and test.py import it; the driver below does not,
so --deps is optional). Its other requirements (visdom, GPUtil) are for the web display and the
tmux launcher, which nothing here uses. --deps DIR is appended to the *child's* module path
(after the venv's site-packages, so nothing installed there can shadow our torch or numpy); it is
never installed into our venv and the parent process never imports from it.

What a child runs is a small driver around the reference's own pieces, exactly as its train.py
uses them: ``options.train_options.TrainOptions().parse()`` on the reference command line below,
``data.create_dataset``, ``models.create_model``, then ``model.data_dependent_initialize(first
batch)`` and ``model.setup(opt)``, then ``set_input`` + ``optimize_parameters`` exactly --steps
times. data_dependent_initialize is a forward pass and the D and G backward passes on the first
batch without any optimiser step (it builds netF's MLPs, whose sizes depend on G's features, and
only then netF's Adam); its gradients are cleared by the first optimize_parameters, and the first
batch is also the first step's batch, as in train.py. ``model.parallelize()`` is skipped: on CPU it
wraps each net in a device-less DataParallel whose only effect is a ``module.`` prefix on the saved
keys. Instead of the reference's per-epoch scheduler, every optimiser's (G, D and F) learning rate
is set before each step by translate's own schedule (translate.training.schedule.linear_decay:
constant for the first --lr-decay-start of the run, 0.5 like translate's lr_decay_start, then
linear towards 0). torch, numpy and random are seeded with the seed.

Reference command line (its defaults otherwise: antialiased down/upsampling, CUT: lambda_NCE 1 and
nce_idt, FastCUT: lambda_NCE 10, no nce_idt, flip equivariance; 256 patches on layers 0,4,8,12,16,
tau 0.07, mlp_sample netF, LSGAN, instance norm, xavier init gain 0.02, Adam 2e-4 (0.5, 0.999))::

    --model cut --CUT_mode CUT|FastCUT --gpu_ids -1 --dataroot DATA --batch_size 1
    --preprocess crop --load_size S --crop_size S   (flip on, as ours; the task images are SxS)
    --netG resnet_6blocks|resnet_9blocks --ngf N --ndf N --netD basic (or n_layers --n_layers_D N)
    --num_threads 0 (data loading in the child's own process) [--no_antialias --no_antialias_up]

``--mode quality``: trains on an unpaired task of datasets/make_bench_tasks.py (trainA/, trainB/,
and a paired photo|target test/ split), saves the generator as ``latest_net_G.pth`` with the
reference's own save_networks, loads it with ``translate.load`` (our published-checkpoint loader,
no flags), checks that the loaded network computes what the reference's G computed on one fixed
input (max |difference| <= 1e-4, else the row fails), and measures it on test/ (AtoB) with
translate.eval's evaluate_generators, as bench_quality does, beside bench_quality's trivial
baselines (identity, mean target, colour map).
The table shows mean +- std over the seeds, the training loop's seconds and s/step (data loading
included, start-up and set-up not), the child's whole wall time and its peak RSS. The antialiased
generator (the default) is read by translate/interop/layouts_cut.py; without it in the tree, pass
--no-antialias (plain strided convs and transposed convs: the CycleGAN reference layout).

``--mode speed``: s/step (median of --iters after --warmup, on one fixed random batch, so data
loading is not timed, as bench_train) and peak RSS (the child's VmHWM, _bench_common.peak_memory_mb)
of the reference CUT and FastCUT, fp32, batch 1, default network resnet_9blocks ngf 64 at 256 px,
--threads torch threads (default 2, the reference's setting in BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import (csv_choices, emit_result, fmt, load_text, machine_description,  # noqa: E402
                           markdown_table, median, peak_memory_mb, run_child, start_measurement, time_calls,
                           write_json)

PROG = "bench_reference_cut"
CUT_MODES = ("CUT", "FastCUT")
TRANSLATOR = {"CUT": "reference_cut", "FastCUT": "reference_fastcut"}
NET_G = ("resnet_9blocks", "resnet_6blocks")  # CUT's NCE layers index a ResNet's layers
# Files that make a folder a checkout of taesungp/contrastive-unpaired-translation.
MARKERS = ("models/cut_model.py", "models/patchnce.py", "models/networks.py", "options/train_options.py",
           "data/unaligned_dataset.py")
DEFAULTS = {  # per mode, when the flag is not given
    "quality": {"size": 128, "threads": 1, "cut_mode": ["CUT"]},
    "speed": {"size": 256, "threads": 2, "cut_mode": list(CUT_MODES)},
}
CHECKPOINT = "latest_net_G.pth"
PROBE, PROBE_SEED = "probe_G.pt", 1234  # the reference G's output on a fixed input, beside CHECKPOINT
PROBE_TOLERANCE = 1e-4  # largest |difference| (outputs in [-1, 1]) between theirs and translate.load's


# --------------------------------------------------------------------------- checks


class UsageError(SystemExit):
    """One line on stderr, exit code 1 (SystemExit with a message)."""

    def __init__(self, message: str):
        super().__init__(f"{PROG}: {message}")


def check_reference(path: Optional[str]) -> Path:
    """The checkout's absolute path, or a one-line error saying what is wrong with it."""
    if not path:
        raise UsageError("--reference DIR is required: a checkout of taesungp/contrastive-unpaired-translation "
                         "(the set-up commands are in --help)")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--reference {path}: no such folder (make the checkout: see --help)")
    missing = [m for m in MARKERS if not (folder / m).is_file()]
    if missing:
        raise UsageError(f"--reference {path}: not a checkout of taesungp/contrastive-unpaired-translation "
                         f"(no {missing[0]})")
    return folder.resolve()


def check_data(path: Optional[str]) -> Path:
    if not path:
        raise UsageError("--mode quality needs --data DIR: an unpaired task folder (trainA/, trainB/, test/) of "
                         "datasets/make_bench_tasks.py")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--data {path}: no such folder (build the tasks: python datasets/make_bench_tasks.py "
                         f"--out DIR --size 128)")
    for sub in ("trainA", "trainB", "test"):
        if not (folder / sub).is_dir():
            raise UsageError(f"--data {path}: no {sub}/ (an unpaired task of datasets/make_bench_tasks.py has "
                             f"trainA/, trainB/ and a paired test/)")
    return folder.resolve()


def check_deps(path: Optional[str]) -> Optional[Path]:
    if not path:
        return None
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--deps {path}: no such folder (pip install --target {path} dominate)")
    return folder.resolve()


def can_load_antialiased() -> bool:
    """Whether translate.load reads the antialiased CUT generator (translate/interop/layouts_cut.py)."""
    import importlib.util

    return importlib.util.find_spec("translate.interop.layouts_cut") is not None


# --------------------------------------------------------------------------- schedule and commands


def learning_rates(steps: int, lr: float, decay_start: float = 0.5) -> List[float]:
    """The learning rate of each of ``steps`` optimiser steps: translate's schedule (constant, then
    linear towards 0 from ``decay_start`` of the run), so the reference trains as translate does."""
    from translate.training.schedule import linear_decay

    factor = linear_decay(steps, decay_start)
    return [lr * factor(step) for step in range(steps)]


def reference_argv(spec: Dict[str, Any]) -> List[str]:
    """The reference's train options for one child (its defaults for everything else)."""
    argv = ["--model", "cut", "--CUT_mode", spec["cut_mode"], "--gpu_ids", "-1",
            "--dataroot", spec.get("data") or "unused", "--name", spec["name"],
            "--checkpoints_dir", spec["checkpoints_dir"], "--batch_size", "1",
            "--preprocess", "crop", "--load_size", str(spec["size"]), "--crop_size", str(spec["size"]),
            "--netG", spec["net_g"], "--ngf", str(spec["ngf"]), "--ndf", str(spec["ndf"]),
            "--lr", repr(spec["lr"]), "--num_threads", str(spec["num_workers"]), "--display_id", "0"]
    if spec["n_layers_d"] == 3:
        argv += ["--netD", "basic"]  # the reference's default: NLayerDiscriminator with 3 layers
    else:
        argv += ["--netD", "n_layers", "--n_layers_D", str(spec["n_layers_d"])]
    if not spec["antialias"]:
        argv += ["--no_antialias", "--no_antialias_up"]
    return argv + list(spec.get("extra") or [])


def _common_spec(args: argparse.Namespace, cut_mode: str, work: Path, name: str) -> Dict[str, Any]:
    return {
        "mode": args.mode, "cut_mode": cut_mode, "translator": TRANSLATOR[cut_mode],
        "reference": str(args.reference), "deps": str(args.deps) if args.deps else None,
        "size": args.size, "net_g": args.net_g, "ngf": args.ngf, "ndf": args.ndf, "n_layers_d": args.n_layers_d,
        "antialias": not args.no_antialias, "lr": args.lr, "num_workers": args.num_workers,
        "extra": shlex.split(args.extra or ""), "threads": args.threads,
        "device": "cpu", "precision": "fp32", "name": name, "checkpoints_dir": str(work),
    }


def quality_spec(args: argparse.Namespace, cut_mode: str, seed: int, work: Path) -> Dict[str, Any]:
    return {**_common_spec(args, cut_mode, work, f"{cut_mode}_s{seed}"), "data": str(args.data), "seed": seed,
            "steps": args.steps, "lr_decay_start": args.lr_decay_start}


def speed_spec(args: argparse.Namespace, cut_mode: str, work: Path) -> Dict[str, Any]:
    return {**_common_spec(args, cut_mode, work, f"{cut_mode}_speed"), "data": None, "seed": args.seed,
            "warmup": args.warmup, "iters": args.iters}


# --------------------------------------------------------------------------- the child (reference code)


def _import_reference(spec: Dict[str, Any]):
    """The reference's options, data and models packages, from the checkout (first on the path:
    its top-level names data/models/options/util must not resolve anywhere else)."""
    sys.path.insert(0, spec["reference"])
    if spec.get("deps"):
        sys.path.append(spec["deps"])
    from data import create_dataset
    from models import create_model
    from options.train_options import TrainOptions

    return TrainOptions, create_dataset, create_model


def _seed_all(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _parse_options(spec: Dict[str, Any], TrainOptions):
    # Through sys.argv rather than TrainOptions(cmd_line=...), which splits on spaces (paths).
    argv, sys.argv = sys.argv, ["train.py", *reference_argv(spec)]
    try:
        return TrainOptions().parse()  # also writes CHECKPOINTS/NAME/train_opt.txt, as train.py does
    finally:
        sys.argv = argv


def _set_lr(model, lr: float) -> None:
    for optimizer in model.optimizers:  # G, D and (after data_dependent_initialize) F
        for group in optimizer.param_groups:
            group["lr"] = lr


def _batches(dataset):
    """The reference's loader, epoch after epoch (reshuffled each time), as train.py iterates it."""
    epoch = 1
    while True:
        dataset.set_epoch(epoch)
        for batch in dataset:
            yield batch
        epoch += 1


def _options_record(opt) -> Dict[str, Any]:
    keys = ("CUT_mode", "lambda_GAN", "lambda_NCE", "nce_idt", "nce_layers", "nce_T", "num_patches", "netF",
            "netF_nc", "flip_equivariance", "gan_mode", "init_type", "init_gain", "normG", "normD", "netG", "netD",
            "n_layers_D", "ngf", "ndf", "no_antialias", "no_antialias_up", "no_dropout", "lr", "beta1", "beta2",
            "preprocess", "load_size", "crop_size", "no_flip", "batch_size")
    return {k: getattr(opt, k) for k in keys if hasattr(opt, k)}


def train_child(spec: Dict[str, Any]) -> Dict[str, Any]:
    """--mode quality: exactly ``steps`` optimiser steps of the reference, then its latest_net_G.pth."""
    import torch

    device, _ = start_measurement(spec)
    _seed_all(spec["seed"])
    TrainOptions, create_dataset, create_model = _import_reference(spec)
    opt = _parse_options(spec, TrainOptions)
    dataset = create_dataset(opt)
    model = create_model(opt)
    batches = _batches(dataset)
    batch = next(batches)
    model.data_dependent_initialize(batch)  # forward + D/G backward, no step; builds netF and its Adam
    model.setup(opt)  # schedulers (unused: the rate is set below) and the parameter counts
    lrs = learning_rates(spec["steps"], opt.lr, spec["lr_decay_start"])
    times = []
    start = time.perf_counter()
    for step, lr in enumerate(lrs):
        began = time.perf_counter()
        if step:
            batch = next(batches)
        _set_lr(model, lr)
        model.set_input(batch)
        model.optimize_parameters()
        times.append(time.perf_counter() - began)
    train_s = time.perf_counter() - start
    losses = model.get_current_losses()
    model.save_networks("latest")
    checkpoint = Path(opt.checkpoints_dir) / opt.name / CHECKPOINT
    # The reference generator's own output on one fixed input: the parent checks that the network
    # translate.load rebuilds from latest_net_G.pth computes the same thing.
    x = torch.rand((1, 3, spec["size"], spec["size"]), generator=torch.Generator().manual_seed(PROBE_SEED)) * 2 - 1
    model.netG.eval()
    with torch.no_grad():
        y = model.netG(x)
    torch.save({"input": x, "output": y}, checkpoint.with_name(PROBE))
    return {
        "checkpoint": str(checkpoint), "steps": len(times), "train_s": train_s, "s_per_step": train_s / len(times),
        "median_step_s": median(times), "peak_mb": peak_memory_mb(device), "lr_first": lrs[0], "lr_last": lrs[-1],
        "optimizers": len(model.optimizers), "dataset_size": len(dataset), "final_losses": losses,
        "params_g": sum(p.numel() for p in model.netG.parameters()), "options": _options_record(opt),
        "machine": machine_description(device), "torch_threads": torch.get_num_threads(),
    }


def speed_child(spec: Dict[str, Any]) -> Dict[str, Any]:
    """--mode speed: median s/step of set_input + optimize_parameters on one fixed random batch."""
    import torch

    device, _ = start_measurement(spec)
    _seed_all(spec["seed"])
    TrainOptions, _, create_model = _import_reference(spec)
    opt = _parse_options(spec, TrainOptions)
    model = create_model(opt)
    gen = torch.Generator().manual_seed(spec["seed"])
    shape = (1, 3, spec["size"], spec["size"])
    batch = {"A": torch.rand(shape, generator=gen) * 2 - 1, "B": torch.rand(shape, generator=gen) * 2 - 1,
             "A_paths": ["random_A"], "B_paths": ["random_B"]}
    model.data_dependent_initialize(batch)
    model.setup(opt)
    _set_lr(model, opt.lr)

    def step() -> None:
        model.set_input(batch)
        model.optimize_parameters()

    for _ in range(spec["warmup"]):
        step()
    times = time_calls(step, spec["iters"], device)
    return {"s_per_step": median(times), "times": times, "peak_mb": peak_memory_mb(device),
            "params_g": sum(p.numel() for p in model.netG.parameters()), "options": _options_record(opt),
            "machine": machine_description(device), "torch_threads": torch.get_num_threads()}


def child_main(spec: Dict[str, Any]) -> Dict[str, Any]:
    return train_child(spec) if spec["mode"] == "quality" else speed_child(spec)


# --------------------------------------------------------------------------- quality (parent)


def evaluate(checkpoint: Path, data: Path, metrics: List[str], features) -> Dict[str, float]:
    """Our evaluation of the reference's generator: translate.load, then translate.eval on test/ (AtoB)."""
    import torch

    import translate
    from translate.eval import EvalOptions, evaluate_generators

    model = translate.load(checkpoint, device="cpu", precision="fp32")
    device = torch.device("cpu")
    probe = torch.load(checkpoint.with_name(PROBE), map_location="cpu", weights_only=True)
    with torch.no_grad():
        diff = float((model.generator.to(device).eval()(probe["input"]) - probe["output"]).abs().max())
    if not diff <= PROBE_TOLERANCE:
        raise RuntimeError(f"the generator translate.load rebuilt differs from the reference's by up to {diff:.3g} "
                           f"on a fixed input (tolerance {PROBE_TOLERANCE:g}): its metrics would not be the reference's")
    generators = {"AtoB": (model.generator.to(device).eval(), model.spec)}
    report = evaluate_generators(generators, data, "test", features, device, None,
                                 EvalOptions(metrics=metrics, progress=False, context={"checkpoint": str(checkpoint)}))
    return {**report.scalars(), "_loaded": {"architecture": model.spec.architecture, "kwargs": model.spec.kwargs,
                                            "max_abs_diff_vs_reference": diff}}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def run_quality(args: argparse.Namespace) -> int:
    import torch
    from bench_quality import Variant, baselines, summarise

    from translate.devices import configure_threads
    from translate.eval import FeatureNets, WeightPaths

    configure_threads()
    features = FeatureNets(WeightPaths(folder=args.weights_dir), torch.device("cpu"))
    variants: List[Variant] = []
    with tempfile.TemporaryDirectory(prefix="bench_reference_cut_") as tmp:
        work = Path(args.keep).resolve() if args.keep else Path(tmp)
        for cut_mode in args.cut_mode:
            variant = Variant(TRANSLATOR[cut_mode], [describe(args, cut_mode)])
            variants.append(variant)
            for seed in args.seeds:
                spec = quality_spec(args, cut_mode, seed, work)
                print(f"[{variant.name} seed {seed}] reference train.py options: {shlex.join(reference_argv(spec))}",
                      file=sys.stderr, flush=True)
                began = time.perf_counter()
                result = run_child(Path(__file__), spec, args.timeout)
                wall = time.perf_counter() - began
                if "error" not in result:
                    try:
                        metrics = evaluate(Path(result["checkpoint"]), args.data, args.metrics, features)
                    except Exception as exc:  # noqa: BLE001 - a model our loader cannot read is a failed row
                        result = {"error": f"translate.load/eval of {result['checkpoint']}: {_one_line(exc)}"}
                if "error" in result:
                    variant.error = result["error"]
                    print(f"[{variant.name} seed {seed}] failed: {variant.error}", file=sys.stderr, flush=True)
                    continue
                loaded = metrics.pop("_loaded")
                run = {"seed": seed, "train_s": result["train_s"], "metrics": metrics, "wall_s": wall,
                       "loaded_by_translate": loaded,
                       **{k: v for k, v in result.items() if k not in ("train_s", "checkpoint")}}
                variant.runs.append(run)
                print(f"[{variant.name} seed {seed}] {result['s_per_step']:.3f} s/step, "
                      f"{', '.join(f'{k} {v:.4f}' for k, v in metrics.items())}", file=sys.stderr, flush=True)
            summarise(variant)
        base = baselines(args.data, "test", ["AtoB"], features)

    print(f"\nreference CUT on {args.data}, {args.steps} steps at {args.size} px, batch 1, seeds "
          f"{','.join(map(str, args.seeds))}, {args.threads} torch thread(s); metrics on test/ (AtoB) by translate.eval "
          f"of the generator read with translate.load\n")
    print(quality_table(variants, base))
    for v in variants:
        if v.error:
            print(f"\n{v.name} failed: {v.error}")
    write_json(args.json, {
        "kind": "reference_cut_quality", "data": str(args.data), "steps": args.steps, "size": args.size,
        "seeds": args.seeds, "split": "test", "direction": "AtoB", "reference": str(args.reference),
        "args": _json_args(args), "baselines": base,
        "rows": [{"translator": v.name, "cut_mode": mode, "config": v.args[0], "seeds": len(v.runs),
                  "train_s": v.train_s, "s_per_step": v.train_s / args.steps if v.train_s else None,
                  "peak_mb": max((r["peak_mb"] for r in v.runs), default=None), "metrics": v.metrics,
                  "std": v.spread, "error": v.error, "skipped": v.skipped, "runs": v.runs}
                 for v, mode in zip(variants, args.cut_mode)]})
    return 1 if any(v.error for v in variants) else 0


def describe(args: argparse.Namespace, cut_mode: str) -> str:
    d = f"n_layers_D {args.n_layers_d}" if args.n_layers_d != 3 else "basic D"
    aa = "no antialias" if args.no_antialias else "antialias"
    return f"{cut_mode}, {args.net_g} ngf {args.ngf}, {d} ndf {args.ndf}, {aa}" + (f", {args.extra}" if args.extra else "")


def quality_table(variants, base: Dict[str, Dict[str, float]]) -> str:
    from bench_quality import _cell

    names = list(dict.fromkeys([k for v in variants for k in v.metrics] or [k for b in base.values() for k in b]))
    header = ["translator", "config", "seeds", "train s (loop)", "s/step", "child wall s", "peak MB", *names]
    rows = [[name, "(baseline)", "-", "-", "-", "-", "-", *(f"{s[n]:.4f}" if n in s else "-" for n in names)]
            for name, s in base.items()]
    for v in variants:
        runs = v.runs
        wall = sum(r["wall_s"] for r in runs) / len(runs) if runs else None
        peak = max((r["peak_mb"] for r in runs), default=None)
        rows.append([v.name, v.args[0], str(len(runs)), fmt(v.train_s, 1) if v.train_s else "-",
                     fmt(v.train_s / runs[0]["steps"], 3) if v.train_s else "-", fmt(wall, 1), fmt(peak, 0),
                     *(_cell(v, n) for n in names)])
    return markdown_table(header, rows)


# --------------------------------------------------------------------------- speed (parent)


def run_speed(args: argparse.Namespace) -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_reference_cut_") as tmp:
        for cut_mode in args.cut_mode:
            spec = speed_spec(args, cut_mode, Path(tmp))
            print(f"[{TRANSLATOR[cut_mode]}] reference train.py options: {shlex.join(reference_argv(spec))}",
                  file=sys.stderr, flush=True)
            result = run_child(Path(__file__), spec, args.timeout)
            row = {"translator": TRANSLATOR[cut_mode], "cut_mode": cut_mode, "config": describe(args, cut_mode),
                   "size": args.size, "batch_size": 1, "precision": "fp32", "threads": args.threads,
                   "warmup": args.warmup, "iters": args.iters, **result}
            rows.append(row)
            if "error" in result:
                print(f"[{row['translator']}] failed: {result['error']}", file=sys.stderr, flush=True)
            write_json(args.json, {"kind": "reference_cut_speed", "partial": True, "args": _json_args(args),
                                   "rows": rows})
    machine = next((r["machine"] for r in rows if "machine" in r), "unknown")
    print(f"\nreference CUT/FastCUT training speed at {args.size}x{args.size}, batch 1, fp32, {machine}. "
          f"s/step is the median of {args.iters} steps after {args.warmup} warm-up; peak MB is the child's peak RSS.\n")
    header = ["translator", "config", "s/step (median)", "images/s", "peak MB", "load avg before/after"]
    table = []
    for r in rows:
        if "error" in r:
            table.append([r["translator"], r["config"], f"FAILED: {r['error']}", "-", "-", "-"])
        else:
            table.append([r["translator"], r["config"], fmt(r["s_per_step"], 3), fmt(1.0 / r["s_per_step"]),
                          fmt(r["peak_mb"], 0), load_text(r)])
    print(markdown_table(header, table))
    write_json(args.json, {"kind": "reference_cut_speed", "args": _json_args(args), "rows": rows})
    return 1 if any("error" in r for r in rows) else 0


# --------------------------------------------------------------------------- command line


def _json_args(args: argparse.Namespace) -> Dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def _seeds(text: str) -> List[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("at least one seed")
    return seeds


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench_reference_cut.py", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", metavar="DIR", help="checkout of taesungp/contrastive-unpaired-translation")
    p.add_argument("--deps", metavar="DIR", help="folder of packages the checkout needs beyond our venv (pip install "
                                                 "--target DIR dominate), appended to the child's module path only")
    p.add_argument("--mode", choices=("quality", "speed"), default="quality")
    p.add_argument("--cut-mode", type=csv_choices(CUT_MODES),
                   help="CUT, FastCUT or CUT,FastCUT (default: quality CUT, speed CUT,FastCUT)")
    p.add_argument("--data", metavar="DIR", help="quality: an unpaired task folder of datasets/make_bench_tasks.py "
                                                 "(trainA/, trainB/, paired test/)")
    p.add_argument("--size", type=_positive, help="training crop in px (default: quality 128, speed 256)")
    p.add_argument("--steps", type=_positive, default=300, help="quality: optimiser steps per seed (default 300)")
    p.add_argument("--seeds", type=_seeds, default=[0], help="quality: comma-separated seeds, one run each (default 0)")
    p.add_argument("--seed", type=int, default=0, help="speed: seed of the networks and the random batch")
    p.add_argument("--ngf", type=_positive, default=64, help="generator width (reference default 64)")
    p.add_argument("--ndf", type=_positive, default=64, help="discriminator width (reference default 64)")
    p.add_argument("--net-g", choices=NET_G, default="resnet_9blocks", help="generator (reference default resnet_9blocks)")
    p.add_argument("--n-layers-d", type=_positive, default=3, help="PatchGAN layers (3: the reference's basic D)")
    p.add_argument("--no-antialias", action="store_true",
                   help="strided convs and transposed convs instead of antialiased down/upsampling (reference "
                        "--no_antialias --no_antialias_up): the CycleGAN reference layout")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (reference and translate: 2e-4)")
    p.add_argument("--lr-decay-start", type=float, default=0.5,
                   help="quality: fraction of the run after which the rate decays linearly (translate's 0.5)")
    p.add_argument("--extra", metavar="ARGS", help="more reference train options, appended verbatim "
                                                   "(as --extra=\"--lambda_NCE 2\")")
    p.add_argument("--num-workers", type=int, default=0, help="quality: the reference's data loading processes "
                                                              "(--num_threads; default 0: in the child itself)")
    p.add_argument("--threads", type=_positive, help="torch threads of each child (default: quality 1, speed 2)")
    p.add_argument("--iters", type=_positive, default=3, help="speed: timed steps (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="speed: untimed steps first (default 1)")
    p.add_argument("--metrics", type=csv_choices(), default=["psnr", "ssim"],
                   help="quality: translate.eval metrics on test/ (default psnr,ssim)")
    p.add_argument("--weights-dir", help="quality: feature-network weights for lpips etc. (default: the torch cache)")
    p.add_argument("--keep", metavar="DIR", help="quality: keep the reference's checkpoints in DIR")
    p.add_argument("--timeout", type=float, default=7200, help="seconds before a child counts as failed")
    p.add_argument("--json", metavar="OUT", help="also write the results here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p


def resolve_args(args: argparse.Namespace) -> argparse.Namespace:
    """Checks (one-line errors) and per-mode defaults; paths made absolute (children run in ROOT)."""
    defaults = DEFAULTS[args.mode]
    args.size = args.size or defaults["size"]
    args.threads = args.threads or defaults["threads"]
    args.cut_mode = args.cut_mode or list(defaults["cut_mode"])
    args.reference = check_reference(args.reference)
    args.deps = check_deps(args.deps)
    if args.mode == "quality":
        args.data = check_data(args.data)
        if not args.no_antialias and not can_load_antialiased():
            raise UsageError("translate.load cannot read the antialiased CUT generator yet (no "
                             "translate/interop/layouts_cut.py); pass --no-antialias")
    if not 0.0 <= args.lr_decay_start <= 1.0:
        raise UsageError(f"--lr-decay-start must be in [0, 1], got {args.lr_decay_start}")
    if args.warmup < 0:
        raise UsageError(f"--warmup must be >= 0, got {args.warmup}")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        emit_result(child_main(json.loads(args.child)))
        return 0
    args = resolve_args(args)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # children inherit it; configure_threads reads it
    return run_quality(args) if args.mode == "quality" else run_speed(args)


if __name__ == "__main__":
    sys.exit(main())
