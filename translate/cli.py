"""The ``translate`` command.

Each subcommand is a pair of functions in ``COMMANDS``: one adds its arguments,
one runs it. A run parses arguments, builds a config, calls one function of the
package, and turns the package's own errors into one-line messages with a
non-zero exit code.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no update check (and no warning) offline

EXIT_USAGE = 2
EXIT_FAILED = 1

DIRECTIONS = ("AtoB", "BtoA")


def _add_device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="auto (default: CUDA if present, else CPU), cpu, cuda or cuda:N")
    p.add_argument("--precision", default=None, choices=["auto", "fp32", "bf16", "fp16"],
                   help="autocast precision. auto (default) = bf16 on CUDA and on CPUs with native bf16 "
                        "(1.8x faster than fp32 on AVX-512-bf16 here), else fp32; fp16 is CUDA only")


# ---------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    from translate.registry import TRANSLATORS

    p.add_argument("translator", help="one of: " + ", ".join(TRANSLATORS.names()))
    p.add_argument("--data", help="dataset root: trainA/ + trainB/ (unpaired); train/ of side-by-side AB "
                                  "images, or train/A/ + train/B/ matched by file name (paired)")
    p.add_argument("--name", help="run name; checkpoints go to CHECKPOINTS_DIR/NAME/")
    p.add_argument("--checkpoints-dir", help="where run folders live (default: checkpoints)")
    p.add_argument("--size", type=int, help="training crop size in pixels (default 256)")
    p.add_argument("--batch-size", type=int, help="images per step per process (default 1)")
    p.add_argument("--steps", type=int, help="total optimiser steps of the run; a resumed run continues up to it")
    p.add_argument("--epochs", type=int, help="passes over the training set, instead of --steps (default 200)")
    p.add_argument("--seed", type=int, help="random seed (default 0); fp32 runs with a seed repeat exactly on CPU")
    p.add_argument("--num-workers", type=int, help="data loading processes (default 2)")
    _add_device_args(p)
    p.add_argument("--resume", action="store_true", help="continue the run in CHECKPOINTS_DIR/NAME from its last checkpoint")
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of config keys (flat, or the saved config.yaml)")
    p.add_argument("--set", dest="set_pairs", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, repeatable (e.g. --set lambda_cycle=5 --set generator=resnet_6blocks)")
    p.add_argument("--help-config", action="store_true", help="list every config key of this translator with its default")


def _train_run(args: argparse.Namespace) -> int:
    import dataclasses

    from translate import checkpoint as ckpt
    from translate.config import TrainConfig, describe_keys, resolve
    from translate.registry import TRANSLATORS
    import translate.translators  # noqa: F401  (registration)

    translator_cls = TRANSLATORS.get(args.translator)
    if args.help_config:
        for key, type_name, default in describe_keys(translator_cls.Options()):
            print(f"{key:26s} {type_name:16s} {default!r}")
        return 0
    cli_values = {
        "data": args.data, "name": args.name, "checkpoints_dir": args.checkpoints_dir, "size": args.size,
        "batch_size": args.batch_size, "steps": args.steps, "epochs": args.epochs, "seed": args.seed,
        "device": args.device, "precision": args.precision, "num_workers": args.num_workers,
    }
    yaml_paths: List[str] = []
    if args.resume:
        name = args.name or TrainConfig.name
        saved = Path(args.checkpoints_dir or TrainConfig.checkpoints_dir) / name / ckpt.CONFIG_FILE
        if not saved.exists():
            raise ckpt.CheckpointError(f"{saved}: nothing to resume (no run named {name!r} there)")
        yaml_paths.append(str(saved))
    if args.config:
        yaml_paths.append(args.config)
    run = resolve(args.translator, translator_cls.Options(), yaml_paths, cli_values, args.set_pairs)
    if not run.train.data:
        raise UsageError("train needs --data DATASET_ROOT")
    from translate.train.loop import train

    folder = train(run, resume=args.resume)
    print(f"checkpoint: {folder}")
    return 0


# ---------------------------------------------------------------- apply
def _apply_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a run folder (checkpoints/NAME) or a .safetensors generator file")
    p.add_argument("--input", required=True, help="an image file or a folder (searched recursively)")
    p.add_argument("--output", required=True, help="output file, or folder that mirrors the input tree")
    p.add_argument("--direction", choices=DIRECTIONS, help="which generator of a two-way model (default AtoB; "
                                                           "a one-way model uses its own)")
    p.add_argument("--size", type=int, help="resize so the long side is SIZE before translating (default: keep size)")
    p.add_argument("--batch-size", type=int, default=4, help="images per forward pass (same-size images only)")
    _add_device_args(p)


def _apply_run(args: argparse.Namespace) -> int:
    from translate.apply.images import apply_to_images, plan_outputs
    from translate.checkpoint import load_generator
    from translate.devices import configure_threads, precision_name, resolve_device, resolve_precision

    configure_threads()
    net, spec = load_generator(Path(args.checkpoint), args.direction)
    device = resolve_device(args.device or "auto")
    dtype = resolve_precision(args.precision or "auto", device)
    pairs = plan_outputs(Path(args.input), Path(args.output))
    print(f"{spec.translator or 'model'} {spec.direction} ({spec.architecture}) on {device}, "
          f"{precision_name(dtype)}: {len(pairs)} image(s) -> {args.output}", file=sys.stderr)
    report = apply_to_images(net, pairs, spec.in_channels, device, dtype, args.batch_size, args.size)
    print(f"wrote {len(report.written)} image(s) to {args.output}", file=sys.stderr)
    if report.failed:
        print(f"{len(report.failed)} file(s) failed:", file=sys.stderr)
        for src, reason in report.failed:
            print(f"  {reason}", file=sys.stderr)
        return EXIT_FAILED
    return 0


# ---------------------------------------------------------------- models
def _models_args(p: argparse.ArgumentParser) -> None:
    pass


def _models_run(args: argparse.Namespace) -> int:
    import translate.losses  # noqa: F401  (registration)
    import translate.nets  # noqa: F401
    import translate.translators  # noqa: F401
    from translate.registry import DISCRIMINATORS, GENERATORS, LOSSES, TRANSLATORS

    for title, registry in (("translators", TRANSLATORS), ("generators", GENERATORS),
                            ("discriminators", DISCRIMINATORS), ("losses", LOSSES)):
        print(f"{title}:")
        for name, summary in registry.summaries():
            print(f"  {name:18s} {summary}")
        print()
    return 0


COMMANDS: Dict[str, Tuple[str, Callable, Callable]] = {
    "train": ("train a translator on a dataset folder", _train_args, _train_run),
    "apply": ("translate images with a trained checkpoint", _apply_args, _apply_run),
    "models": ("list translators, generators, discriminators and losses", _models_args, _models_run),
}


class UsageError(ValueError):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate",
        description="Image-to-image translation: pix2pix, CycleGAN and friends.",
        epilog="Run `translate COMMAND --help` for a command's options. Docs: README.md",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (summary, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + "."))
    return parser


def _user_errors() -> tuple:
    """Exceptions that mean "bad input" and print as one line instead of a traceback."""
    from translate.apply.images import ApplyError
    from translate.checkpoint import CheckpointError
    from translate.config import ConfigError
    from translate.data import ImageReadError
    from translate.devices import DeviceError
    from translate.registry import UnknownNameError
    from translate.train.loop import TrainingError

    return (UsageError, ConfigError, CheckpointError, DeviceError, ApplyError, UnknownNameError,
            TrainingError, ImageReadError, FileNotFoundError, NotADirectoryError, ValueError)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    _, _, run = COMMANDS[args.command]
    try:
        return run(args)
    except KeyboardInterrupt:
        print("translate: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        print(f"translate {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
