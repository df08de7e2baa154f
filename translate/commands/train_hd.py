"""`translate train-hd`: pix2pixHD's coarse-to-fine schedule as one command.

Three stages, each an ordinary run of the one training loop:

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
import dataclasses
import math
import os
from pathlib import Path
from typing import Optional

from translate.commands import Command, UsageError, add_device_args, register


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="dataset root (train_label/ + train_img/ [+ train_inst/], or "
                                                  "train_A/ + train_B/ etc. with --set input=rgb)")
    p.add_argument("--name", required=True, help="run name: the final model is CHECKPOINTS_DIR/NAME, the global "
                                                 "stage CHECKPOINTS_DIR/NAME_global")
    p.add_argument("--checkpoints-dir", help="where run folders live (default: checkpoints)")
    p.add_argument("--size", type=int, help="local stage crop size (the global stage uses half)")
    p.add_argument("--batch-size", type=int, help="images per step per process (default 1)")
    p.add_argument("--global-epochs", type=int, default=200, help="global stage epochs (default 200 = 100 + 100 decaying)")
    p.add_argument("--local-epochs", type=int, default=200, help="local stage epochs, frozen part included (default 200)")
    p.add_argument("--fix-global-epochs", type=int, default=10,
                   help="local stage epochs with the global trunk frozen (pix2pixHD's niter_fix_global; default 10)")
    p.add_argument("--translator", choices=("pix2pixhd", "pose2frame"), default="pix2pixhd",
                   help="pix2pixhd (default) or pose2frame (Everybody Dance Now: the same stages, temporal pairs)")
    p.add_argument("--face-epochs", type=int, default=0,
                   help="pose2frame only: train the face stage for N epochs on the finished body model "
                        "into NAME_face (default 0: no face stage)")
    p.add_argument("--seed", type=int)
    p.add_argument("--num-workers", type=int)
    add_device_args(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted schedule where it stopped")
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of config keys")
    p.add_argument("--set", dest="set_pairs", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key of `translate train pix2pixhd` for both stages")


def _step_reached(folder: Path) -> int:
    from translate import checkpoint as ckpt

    return int(ckpt.read_metadata(folder)["step"]) if (folder / ckpt.METADATA_FILE).exists() else 0


def _stage(train_fn, run, total: int, resume: bool, stop_at: Optional[int] = None) -> None:
    """Run ``run`` up to ``stop_at`` (default its end), resuming or skipping what is done."""
    folder = Path(run.train.checkpoints_dir) / run.train.name
    reached = _step_reached(folder)
    goal = total if stop_at is None else stop_at
    if reached >= goal:
        print(f"train-hd: {folder} is already at step {reached}; skipping this stage")
        return
    train_fn(run, resume=resume and reached > 0, max_steps_this_call=goal - reached)


def _run(args: argparse.Namespace) -> int:
    import translate.translators  # noqa: F401  (registration)
    from translate.config import RunConfig, resolve
    from translate.data.hd_pairs import find_hd_sources
    from translate.registry import TRANSLATORS
    from translate.train.loop import SizeTooSmallError, train
    from translate.translators.pix2pixhd import resolve_inputs

    if min(args.global_epochs, args.local_epochs) < 1 or not 0 <= args.fix_global_epochs <= args.local_epochs:
        raise UsageError("need --global-epochs, --local-epochs >= 1 and 0 <= --fix-global-epochs <= --local-epochs")
    if args.face_epochs < 0 or (args.face_epochs and args.translator != "pose2frame"):
        raise UsageError("--face-epochs N (N >= 0) is for --translator pose2frame")
    cls = TRANSLATORS.get(args.translator)
    cli_values = {"data": args.data, "name": args.name, "checkpoints_dir": args.checkpoints_dir, "size": args.size,
                  "batch_size": args.batch_size, "seed": args.seed, "device": args.device,
                  "precision": args.precision, "num_workers": args.num_workers}
    base = resolve(args.translator, cls.Options(), [args.config] if args.config else [], cli_values, args.set_pairs,
                   train_defaults=getattr(cls, "train_defaults", None))
    t, opts = base.train, base.model
    if t.size < 2 or t.load_size < 2:
        raise UsageError("--size and load_size must be at least 2 so the global stage can use half")
    resolve_inputs(opts, t)  # once: both stages then build the same input channels
    samples = len(find_hd_sources(t.data, "train", opts.input).items)
    per_epoch = max(1, math.ceil(samples / (t.batch_size * int(os.environ.get("WORLD_SIZE", "1")))))

    global_run = RunConfig(args.translator, dataclasses.replace(
        t, name=f"{t.name}_global", size=t.size // 2, load_size=t.load_size // 2, epochs=args.global_epochs,
        steps=None), dataclasses.replace(opts, generator="pix2pixhd_global"))
    try:
        _stage(train, global_run, args.global_epochs * per_epoch, args.resume)
    except SizeTooSmallError as exc:  # say it in the user's --size, not the global stage's half
        raise SizeTooSmallError(f"pix2pixHD needs --size >= {2 * exc.needed} (the global stage trains at half "
                                f"size, and its networks need >= {exc.needed})", 2 * exc.needed) from None

    fix_steps = args.fix_global_epochs * per_epoch
    local_train = dataclasses.replace(t, epochs=args.local_epochs, steps=None)
    local_opts = dataclasses.replace(opts, generator="pix2pixhd_local", num_scales=opts.num_scales + 1,
                                     global_weights=str(Path(t.checkpoints_dir) / global_run.train.name))
    total = args.local_epochs * per_epoch
    if fix_steps:
        frozen = RunConfig(args.translator, local_train, dataclasses.replace(local_opts, fix_global_steps=fix_steps))
        _stage(train, frozen, total, args.resume, stop_at=fix_steps)
    thawed = RunConfig(args.translator, local_train, dataclasses.replace(local_opts, fix_global_steps=0))
    _stage(train, thawed, total, resume=args.resume or fix_steps > 0)
    final = Path(t.checkpoints_dir) / t.name
    if args.face_epochs:
        face_train = dataclasses.replace(t, name=f"{t.name}_face", epochs=args.face_epochs, steps=None)
        face_opts = dataclasses.replace(local_opts, fix_global_steps=0, global_weights=None, face_gan=True,
                                        freeze_body=True, body_weights=str(final))
        _stage(train, RunConfig(args.translator, face_train, face_opts), args.face_epochs * per_epoch, args.resume)
        final = Path(t.checkpoints_dir) / face_train.name
    print(f"checkpoint: {final}")
    return 0


register(Command("train-hd", "pix2pixHD coarse-to-fine: global generator at half size, then the local enhancer",
                 _args, _run))
