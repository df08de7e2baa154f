"""`translate train-hd`: pix2pixHD's coarse-to-fine schedule as one command.

Parses the flags into a run config and a ``StageSchedule`` and calls
``translate.pipelines.hd_stages.train_stages``, which runs the stages:

1. ``<name>_global``: the global generator at half resolution (``load_size`` and ``size`` halved);
2. ``<name>``: the local enhancer, its global trunk copied from stage 1 and frozen for
   ``--fix-global-epochs`` epochs (pix2pixHD's niter_fix_global), then
3. the same run resumed with everything trainable until ``--local-epochs``;
4. for pose2frame with ``--face-epochs N``: ``<name>_face``, the face GAN trained on the finished
   body model (frozen), Everybody Dance Now's third stage.

Stages 2 and 3 are one run folder and one LR schedule; they are two calls of the loop because
DDP must wrap the thawed global trunk anew (see ``Pix2PixHD.before_step``). The local stage's
discriminator gets one more scale than the global stage's, as in pix2pixHD's 1024p recipe.
``--resume`` continues whichever stage was interrupted.
"""
from __future__ import annotations

import argparse

from translate.choices import HD_TRANSLATORS, StageSchedule
from translate.commands import Command, UsageError, add_device_args, register, require_file, require_folder

_DEFAULT = StageSchedule()  # the flags' defaults are the schedule's


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="dataset root (train_label/ + train_img/ [+ train_inst/], or "
                                                  "train_A/ + train_B/ etc. with --set input=rgb)")
    p.add_argument("--name", required=True, help="run name: the final model is CHECKPOINTS_DIR/NAME, the global "
                                                 "stage CHECKPOINTS_DIR/NAME_global")
    p.add_argument("--checkpoints-dir", help="where run folders live (default: checkpoints)")
    p.add_argument("--size", type=int, help="local stage crop size (the global stage uses half)")
    p.add_argument("--batch-size", type=int, help="images per step per process (default 1)")
    p.add_argument("--global-epochs", type=int, default=_DEFAULT.global_epochs,
                   help=f"global stage epochs (default {_DEFAULT.global_epochs} = 100 + 100 decaying)")
    p.add_argument("--local-epochs", type=int, default=_DEFAULT.local_epochs,
                   help=f"local stage epochs, frozen part included (default {_DEFAULT.local_epochs})")
    p.add_argument("--fix-global-epochs", type=int, default=_DEFAULT.fix_global_epochs,
                   help="local stage epochs with the global trunk frozen (pix2pixHD's niter_fix_global; "
                        f"default {_DEFAULT.fix_global_epochs})")
    p.add_argument("--translator", choices=HD_TRANSLATORS, default=HD_TRANSLATORS[0],
                   help="pix2pixhd (default) or pose2frame (Everybody Dance Now: the same stages, temporal pairs)")
    p.add_argument("--face-epochs", type=int, default=_DEFAULT.face_epochs,
                   help="pose2frame only: train the face stage for N epochs on the finished body model "
                        f"into NAME_face (default {_DEFAULT.face_epochs}: no face stage)")
    p.add_argument("--seed", type=int)
    p.add_argument("--num-workers", type=int)
    add_device_args(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted schedule where it stopped")
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of config keys")
    p.add_argument("--set", dest="set_pairs", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key of `translate train pix2pixhd` for both stages")


def _schedule(args: argparse.Namespace) -> StageSchedule:
    return StageSchedule(args.global_epochs, args.local_epochs, args.fix_global_epochs, args.face_epochs)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _check(args: argparse.Namespace) -> None:
    problem = _schedule(args).problem(args.translator, _flag)
    if problem:
        raise UsageError(problem)
    require_folder(args.data, "--data")
    require_file(args.config, "--config")


def _run(args: argparse.Namespace) -> int:
    from translate.config import resolve
    from translate.pipelines.hd_stages import train_stages
    from translate.registry import TRANSLATORS

    schedule = _schedule(args)
    cls = TRANSLATORS.get(args.translator)
    cli_values = {"data": args.data, "name": args.name, "checkpoints_dir": args.checkpoints_dir, "size": args.size,
                  "batch_size": args.batch_size, "seed": args.seed, "device": args.device,
                  "precision": args.precision, "num_workers": args.num_workers}
    base = resolve(args.translator, cls.Options(), [args.config] if args.config else [], cli_values, args.set_pairs,
                   train_defaults=cls.train_defaults)
    final = train_stages(base, schedule, resume=args.resume)
    from translate.training.distributed import print_on_main

    print_on_main(f"checkpoint: {final}")  # once per job, not once per torchrun process
    return 0


register(Command("train-hd", "pix2pixHD coarse-to-fine: global generator at half size, then the local enhancer",
                 _args, _run, _check))
