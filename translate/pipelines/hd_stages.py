"""pix2pixHD's coarse-to-fine schedule (and Everybody Dance Now's face stage) as one call.

Stages, each an ordinary run of the one training loop:

1. ``<name>_global``: the global generator at half resolution (``load_size`` and ``size`` halved);
2. ``<name>``: the local enhancer, its global trunk copied from stage 1 and frozen for
   ``fix_global_epochs`` epochs (pix2pixHD's niter_fix_global), then
3. the same run resumed with everything trainable until ``local_epochs``;
4. for pose2frame with ``face_epochs``: ``<name>_face``, the face GAN trained on the finished
   body model (frozen), Everybody Dance Now's third stage.

Stages 2 and 3 are one run folder and one LR schedule; they are two calls of the loop because
DDP must wrap the thawed global trunk anew (see ``Pix2PixHD.before_step``). The local stage's
discriminator gets one more scale than the global stage's, as in pix2pixHD's 1024p recipe.
``resume`` continues whichever stage was interrupted.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Optional

from translate import checkpoint as ckpt
from translate.choices import HD_TRANSLATORS, StageSchedule
from translate.config import ConfigError, RunConfig
from translate.data.hd_pairs import find_hd_sources
from translate.registry import TRANSLATORS
from translate.training.loop import SizeTooSmallError, train, training_samples
from translate.training.sampler import EpochSampler


def _step_reached(folder: Path) -> int:
    return int(ckpt.read_metadata(folder)["step"]) if (folder / ckpt.METADATA_FILE).exists() else 0


def _stage(run: RunConfig, total: int, resume: bool, log: Callable[[str], None],
           stop_at: Optional[int] = None) -> None:
    """Run ``run`` up to ``stop_at`` (default its end), resuming or skipping what is done."""
    folder = Path(run.train.checkpoints_dir) / run.train.name
    reached = _step_reached(folder)
    goal = total if stop_at is None else stop_at
    if reached >= goal:
        log(f"train-hd: {folder} is already at step {reached}; skipping this stage")
        return
    train(run, resume=resume and reached > 0, max_steps_this_call=goal - reached)


def train_stages(base: RunConfig, schedule: StageSchedule = StageSchedule(), resume: bool = False,
                 log: Callable[[str], None] = print) -> Path:
    """Train every stage of ``base`` (a pix2pixhd or pose2frame run); returns the final run folder."""
    if base.translator not in HD_TRANSLATORS:
        raise ConfigError(f"the stage schedule trains {' or '.join(HD_TRANSLATORS)}, not {base.translator}")
    problem = schedule.problem(base.translator)
    if problem:
        raise ConfigError(problem)
    t = base.train
    if t.size < 2 or t.load_size < 2:
        raise ConfigError("size and load_size must be at least 2 so the global stage can use half")
    # Once, so every stage builds the same input channels without scanning the labels again.
    translator_cls = TRANSLATORS.get(base.translator)
    opts = translator_cls.prepare(base.model, t, training_samples(translator_cls, base))
    samples = len(find_hd_sources(t.data, "train", opts.input).items)
    # The loop's own count of steps in an epoch (its sampler's), so the stages end where its epochs do.
    per_epoch = EpochSampler(samples, t.batch_size, t.seed, world_size=int(os.environ.get("WORLD_SIZE", "1"))
                             ).batches_per_epoch

    global_run = RunConfig(base.translator, dataclasses.replace(
        t, name=f"{t.name}_global", size=t.size // 2, load_size=t.load_size // 2, epochs=schedule.global_epochs,
        steps=None), dataclasses.replace(opts, generator="pix2pixhd_global"))
    try:
        _stage(global_run, schedule.global_epochs * per_epoch, resume, log)
    except SizeTooSmallError as exc:  # say it in the user's --size, not the global stage's half
        raise SizeTooSmallError(f"pix2pixHD needs --size >= {2 * exc.needed} (the global stage trains at half "
                                f"size, and its networks need >= {exc.needed})", 2 * exc.needed) from None

    fix_steps = schedule.fix_global_epochs * per_epoch
    local_train = dataclasses.replace(t, epochs=schedule.local_epochs, steps=None)
    local_opts = dataclasses.replace(opts, generator="pix2pixhd_local", num_scales=opts.num_scales + 1,
                                     global_weights=str(Path(t.checkpoints_dir) / global_run.train.name))
    total = schedule.local_epochs * per_epoch
    if fix_steps:
        frozen = RunConfig(base.translator, local_train, dataclasses.replace(local_opts, fix_global_steps=fix_steps))
        _stage(frozen, total, resume, log, stop_at=fix_steps)
    thawed = RunConfig(base.translator, local_train, dataclasses.replace(local_opts, fix_global_steps=0))
    _stage(thawed, total, resume or fix_steps > 0, log)
    final = Path(t.checkpoints_dir) / t.name
    if schedule.face_epochs:
        face_train = dataclasses.replace(t, name=f"{t.name}_face", epochs=schedule.face_epochs, steps=None)
        face_opts = dataclasses.replace(local_opts, fix_global_steps=0, global_weights=None, face_gan=True,
                                        freeze_body=True, body_weights=str(final))
        _stage(RunConfig(base.translator, face_train, face_opts), schedule.face_epochs * per_epoch, resume, log)
        final = Path(t.checkpoints_dir) / face_train.name
    return final
