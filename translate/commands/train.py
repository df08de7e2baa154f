"""`translate train TRANSLATOR`: train on a dataset folder."""
from __future__ import annotations

import argparse

from translate.choices import DEFAULT_EPOCHS, DIRECTIONS
from translate.commands import Command, UsageError, add_device_args, register, require_file, require_folder
from translate.registry import TRANSLATORS


def _train_args(p: argparse.ArgumentParser) -> None:
    from translate.config import PRESETS, TrainConfig  # the defaults' home (config imports no torch)

    t = TrainConfig()

    # The declared names, not names(): listing the registered ones imports every translator (torch).
    p.add_argument("translator", help="one of: " + ", ".join(TRANSLATORS.declared))
    p.add_argument("--data", help="dataset root: trainA/ + trainB/ (unpaired); train/ of side-by-side AB "
                                  "images, or train/A/ + train/B/ matched by file name (paired)")
    p.add_argument("--name", help="run name; checkpoints go to CHECKPOINTS_DIR/NAME/")
    p.add_argument("--checkpoints-dir", help=f"where run folders live (default: {t.checkpoints_dir})")
    p.add_argument("--size", type=int, help=f"training crop size in pixels (default {t.size})")
    p.add_argument("--batch-size", type=int, help=f"images per step per process (default {t.batch_size})")
    p.add_argument("--direction", choices=DIRECTIONS,
                   help=f"paired translators: which side is the input (default {t.direction}; facades is BtoA)")
    p.add_argument("--steps", type=int, help="total optimiser steps of the run; a resumed run continues up to it")
    p.add_argument("--epochs", type=int,
                   help=f"passes over the training set, instead of --steps (default {DEFAULT_EPOCHS})")
    p.add_argument("--seed", type=int,
                   help=f"random seed (default {t.seed}); fp32 runs with a seed repeat exactly on CPU")
    p.add_argument("--num-workers", type=int, help=f"data loading processes (default {t.num_workers})")
    add_device_args(p)
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="default: the measured quality defaults; paper: the papers' exact settings (README)")
    p.add_argument("--resume", action="store_true", help="continue the run in CHECKPOINTS_DIR/NAME from its last checkpoint")
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of config keys (flat, or the saved config.yaml)")
    p.add_argument("--set", dest="set_pairs", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, repeatable (e.g. --set lambda_cycle=5 --set generator=resnet_6blocks)")
    p.add_argument("--help-config", action="store_true", help="list every config key of this translator with its default")


def _train_check(args: argparse.Namespace) -> None:
    TRANSLATORS.check_declared(args.translator)
    if args.help_config:
        return
    if not args.data and not args.resume:
        raise UsageError("train needs --data DATASET_ROOT")
    # The layout inside (trainA/ + trainB/, train/, ...) is the data room's to judge: it differs by translator.
    require_folder(args.data, "--data")
    require_file(args.config, "--config")


def _train_run(args: argparse.Namespace) -> int:
    from translate.config import describe_keys
    from translate.training.setup import resolve_run

    translator_cls = TRANSLATORS.get(args.translator)
    if args.help_config:
        rows = describe_keys(translator_cls.Options(), translator_cls.train_defaults)
        for key, type_name, default, meaning in rows:
            print(f"{key:26s} {type_name:16s} {default!r:20s} {meaning}".rstrip())
        return 0
    cli_values = {
        "data": args.data, "name": args.name, "checkpoints_dir": args.checkpoints_dir, "size": args.size,
        "batch_size": args.batch_size, "direction": args.direction, "steps": args.steps, "epochs": args.epochs, "seed": args.seed,
        "device": args.device, "precision": args.precision, "num_workers": args.num_workers,
        "preset": args.preset,
    }
    run = resolve_run(args.translator, cli_values, args.set_pairs, args.config, args.resume)
    from translate.training.loop import train

    folder = train(run, resume=args.resume)
    from translate.training.distributed import print_on_main

    print_on_main(f"checkpoint: {folder}")  # once per job, not once per torchrun process
    return 0


register(Command("train", "train a translator on a dataset folder", _train_args, _train_run, _train_check))
