"""The one training loop: every translator trains here.

The loop owns what translators must not care about: data order, resuming,
checkpoints and logging; ``translate.training.trainer.Trainer`` does each
optimisation step (devices, mixed precision, DDP, the order of optimiser steps).
"""
from __future__ import annotations

import dataclasses
import random
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader

from translate import checkpoint as ckpt
from translate import run_history
from translate.config import ConfigError, RunConfig
from translate.devices import configure_threads, precision_name, resolve_device, resolve_precision
from translate.interop.loading import load_generator
from translate.registry import TRANSLATORS
from translate.fileio import remove_stale_temporaries
from translate.training import distributed
from translate.training.checks import check_batch_fits, load_state, refuse_architecture_changes
from translate.training.interrupt import StopRequests, TrainingInterrupted
from translate.training.sampler import EpochIndexed, EpochSampler
from translate.training.trainer import Trainer, TrainingError  # noqa: F401  (TrainingError is part of this API)
from translate.training.watch import NullWatcher, Watcher
from translate.translators.base import Translator

DEFAULT_EPOCHS = 200  # the papers' 100 constant + 100 decaying epochs


def build_dataset(translator_cls, run: RunConfig, split: str = "train"):
    """The dataset ``translator_cls`` trains on (its ``build_dataset`` hook)."""
    return translator_cls.build_dataset(run, split)


def build_translator(run: RunConfig, resume: bool = False) -> Tuple[RunConfig, Translator]:
    """The run with its options completed from the data, and its translator ready for step 1.

    Options completed by the translator's ``prepare`` (e.g. pix2pixHD's label count) are what
    config.yaml records. A fresh run loads the weights it starts from (``warm_starts``); the
    translator only says which and how, the loop opens the files.
    """
    translator_cls = TRANSLATORS.get(run.translator)
    if getattr(run.model, "diff_augment", "") and not translator_cls.applies_diff_augment:
        raise ConfigError(f"config key 'diff_augment' is not applied by {run.translator} (pix2pix and cyclegan "
                          f"apply it): remove it")
    run = dataclasses.replace(run, model=translator_cls.prepare(run.model, run.train))
    translator = translator_cls(run.model, run.train)
    if not resume:
        for start in translator.warm_starts():
            net, spec = load_generator(Path(start.source), start.direction)
            start.load(net, spec)
    return run, translator


def _check_crop_fits(translator, t) -> None:
    """Sizes that do not fit are solved, not only refused: the error names what would fit."""
    if "crop" in t.preprocess:
        for direction, (net, spec) in translator.exported().items():
            multiple = getattr(net, "size_multiple", 1)
            if t.size % multiple:
                raise TrainingError(f"--size {t.size} does not fit {spec.architecture}: crops must be a multiple of "
                                    f"{multiple} (try --size {max(multiple, t.size // multiple * multiple)}"
                                    f"{_fitting_generator(spec.architecture, t.size)})")
    smallest, misfit = _smallest_size(translator, t.size)
    if smallest is not None:
        deeper = ", or a shallower discriminator (n_layers_d, num_scales)" if misfit in translator.discriminators else ""
        raise SizeTooSmallError(f"--size {t.size} is too small for {type(translator).__name__}'s networks ({misfit} "
                                f"would be down to one pixel); it needs --size >= {smallest}{deeper}", smallest)


class SizeTooSmallError(TrainingError):
    """The crop is below what the networks take; ``needed`` is the smallest size that works."""

    def __init__(self, message: str, needed: int):
        super().__init__(message)
        self.needed = needed


def _fitting_generator(architecture: str, size: int) -> str:
    if not architecture.startswith("unet"):
        return ""
    depth = (size & -size).bit_length() - 1  # how many times size halves evenly
    if depth < 2:
        return ""
    return f", or keep --size {size} with --set generator=unet --set \"generator_options={{num_downs: {depth}}}\""


# Messages of the shape checks a network too deep for its input trips (norms, convs): a misfit, not a bug.
_TOO_SMALL = ("spatial element", "value per channel", "Kernel size can't be greater", "Output size is too small")
_LARGEST_PROBE = 8192


def _misfit(translator, size: int) -> Optional[str]:
    """The name of the first network that cannot take a ``size`` crop, or None when all can.

    Shapes only: each network is copied to the meta device, so nothing is computed or allocated.
    """
    import copy

    for group in (translator.generators, translator.discriminators):
        for name, net in group.items():
            first = next((m for m in net.modules() if isinstance(m, torch.nn.Conv2d)), None)
            if first is None:
                continue
            probe = copy.deepcopy(net).to("meta").train()
            try:
                probe(torch.empty(1, first.in_channels, size, size, device="meta"))
            except (ValueError, RuntimeError) as exc:
                if any(text in str(exc) for text in _TOO_SMALL):
                    return name
            except Exception:
                pass  # networks that need more than one image input: not checked here
    return None


def _smallest_size(translator, size: int) -> Tuple[Optional[int], Optional[str]]:
    """(None, None) when every network takes ``size``; else the smallest power-of-two-step size
    that does and the network that does not fit ``size``. A network that fits no size up to
    8192 (a discriminator 10 layers deep at 32 px) is a one-line error, not a silent pass."""
    misfit = _misfit(translator, size)
    if misfit is None:
        return None, None
    candidate = size
    while candidate < _LARGEST_PROBE:
        candidate *= 2
        if _misfit(translator, candidate) is None:
            return candidate, misfit
    raise TrainingError(f"{type(translator).__name__}'s network {misfit} does not fit any --size up to "
                        f"{_LARGEST_PROBE}: its layers shrink the image to nothing; lower its depth "
                        f"(n_layers_d, num_scales, or the generator's depth in generator_options)")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state(device: torch.device) -> Dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def train(run: RunConfig, resume: bool = False, max_steps_this_call: Optional[int] = None) -> Path:
    """Train ``run`` to its total step count; returns the run folder.

    ``max_steps_this_call`` stops early (tests use it to simulate a killed run).
    """
    configure_threads()
    t = run.train
    dist_info = distributed.init_from_env(t.device)
    try:
        return _train(run, resume, dist_info, max_steps_this_call)
    finally:
        distributed.shutdown(dist_info)


def _train(run: RunConfig, resume: bool, dist_info, max_steps_this_call: Optional[int]) -> Path:
    t = run.train
    folder = Path(t.checkpoints_dir) / t.name
    if not resume and (folder / ckpt.TRAINING_STATE_FILE).exists():
        # Worded for both doors in: `translate train` and translate.train() share this loop.
        raise TrainingError(f"run folder {folder} exists: resume it (--resume / resume=True) or choose another name")
    device = resolve_device(t.device, dist_info.local_rank)
    amp_dtype = resolve_precision(t.precision, device)
    seed_everything(t.seed)

    run, translator = build_translator(run, resume)
    if resume:
        refuse_architecture_changes(folder, run)
    translator_cls = TRANSLATORS.get(run.translator)
    _check_crop_fits(translator, t)
    dataset = build_dataset(translator_cls, run)
    # Read one sample here: a dataset whose every file is unreadable then stops with its own
    # one-line error, not with the multi-line traceback a DataLoader worker would wrap it in.
    dataset[0]
    check_batch_fits(t, len(dataset), dist_info.world_size)
    if not resume:
        translator.start_from_data(dataset)
    sampler = EpochSampler(len(dataset), t.batch_size, t.seed, dist_info.rank, dist_info.world_size)
    per_epoch = sampler.batches_per_epoch
    total = t.steps or (t.epochs or DEFAULT_EPOCHS) * per_epoch

    trainer = Trainer(translator, t, device, amp_dtype, total, dist_info)
    if resume:
        state = ckpt.load_training_state(folder)
        load_state(trainer, state, folder)
        if state.get("world_size", 1) == dist_info.world_size:
            _set_rng_state(state["rng"][dist_info.rank], device)
    step = trainer.step_count
    if resume and step >= total:
        # Nothing to do is not success: the user asked for steps this run has already taken.
        raise TrainingError(f"--resume: {folder} is already at step {step} and {total} steps were asked in all; "
                            f"ask for more steps (--steps N / steps=N with N > {step})")

    evaluate = _quality_evaluator(t, folder, device, amp_dtype, dist_info)
    if dist_info.is_main:
        folder.mkdir(parents=True, exist_ok=True)
        # Temporaries of a run killed while saving (kill -9 cannot clean up after itself).
        remove_stale_temporaries(folder, recursive=True)
        run.save(folder / ckpt.CONFIG_FILE)
        watcher = Watcher(folder, step, total, t.log_every, t.tensorboard)
        watcher.message(
            f"{run.translator}: {len(dataset)} training samples, {per_epoch} steps/epoch, steps {step}->{total}, "
            f"device {device}, precision {precision_name(amp_dtype)}, world size {dist_info.world_size}"
        )
    else:
        watcher = NullWatcher()

    stop_at = total if max_steps_this_call is None else min(total, step + max_steps_this_call)
    first_step = step + 1
    epoch, in_epoch = divmod(step, per_epoch)
    sampler.set_position(epoch, in_epoch)
    saves = _SaveClock(t, step)
    best = run_history.read_best(folder) if dist_info.is_main else None
    loader, interrupted = None, False
    try:
        with StopRequests() as stop:
            while step < stop_at:
                if loader is None:
                    loader = iter(_loader(dataset, sampler, t, device, epoch))
                try:
                    batch = next(loader)
                except StopIteration:
                    epoch += 1
                    sampler.set_position(epoch, 0)
                    loader = None
                    continue
                except Exception:
                    # Ctrl-C in a terminal also reaches the loader's worker processes, which die:
                    # the step already finished is what gets saved.
                    if stop.requested and not dist_info.enabled:
                        interrupted = True
                        break
                    raise
                g_out, d_out = trainer.step(trainer.to_device(batch))
                step = trainer.step_count

                # The first step of every call is logged too: the progress bar shows the loss terms from
                # step 1, not only after log_every steps (reading them synchronises the device).
                if step % t.log_every == 0 or step == stop_at or step == first_step:
                    logs = {k: float(v) for k, v in {**g_out.logs, **d_out.logs}.items()}
                    if not all(np.isfinite(list(logs.values()))):
                        raise TrainingError(f"losses became non-finite at step {step}: {logs}")
                else:
                    logs = {}
                watcher.step(step, logs, t.batch_size * dist_info.world_size)
                sample_due = (step % t.sample_every == 0) if t.sample_every else (step % per_epoch == 0)
                if sample_due or step == stop_at:
                    watcher.samples(step, step // per_epoch, translator.visuals(batch, g_out.fakes))
                if evaluate is not None and step % t.eval_every == 0:
                    best = _evaluate(evaluate, step, trainer, watcher, folder, run, best)
                stopping, due = _agree(stop.requested, saves.due(step, stop_at), dist_info, device)
                if due or stopping:
                    _save(folder, run, trainer, dist_info)
                    saves.saved(step)
                if stopping and step < stop_at:
                    interrupted = True
                    break
            if interrupted:
                if saves.last_step != step:
                    _save(folder, run, trainer, dist_info)
                    saves.saved(step)
                how = stop.signal_name or "a signal"
                if saves.last_step == 0:
                    message = f"stopped by {how} before the first step: nothing to save"
                else:
                    message = (f"stopped by {how}: step {step} saved to {folder} "
                               f"(continue with --resume)")
                watcher.message(message)
                raise TrainingInterrupted(message, step, folder)
    finally:
        watcher.close()
    return folder


def _loader(dataset, sampler, t, device, epoch: int) -> DataLoader:
    # Its own generator: creating an iterator draws a seed, and drawing it from the global RNG
    # would shift every later dropout mask, so a run resumed mid-epoch would not repeat exactly.
    generator = torch.Generator().manual_seed(t.seed * 1_000_003 + epoch)
    return DataLoader(EpochIndexed(dataset), batch_size=t.batch_size, sampler=sampler, num_workers=t.num_workers,
                      pin_memory=device.type == "cuda", drop_last=False, persistent_workers=False,
                      generator=generator)


class _SaveClock:
    """Saves every ``save_every`` steps, and after ``save_minutes`` of wall time whatever the step."""

    def __init__(self, t, step: int):
        self.every, self.seconds = t.save_every, t.save_minutes * 60
        self.last_step, self.last_time = step, time.monotonic()

    def due(self, step: int, stop_at: int) -> bool:
        late = bool(self.seconds) and time.monotonic() - self.last_time >= self.seconds
        return step % self.every == 0 or step == stop_at or late

    def saved(self, step: int) -> None:
        self.last_step, self.last_time = step, time.monotonic()


def _agree(stopping: bool, due: bool, dist_info, device: torch.device):
    """Under torchrun every rank must save (and stop) at the same step: any rank's wish counts."""
    if not dist_info.enabled:
        return stopping, due
    flags = torch.tensor([float(stopping), float(due)], device=device)
    torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
    return bool(flags[0]), bool(flags[1])


def _quality_evaluator(t, folder: Path, device: torch.device, amp_dtype, dist_info):
    """translate.eval's hook for ``--set eval_every=N``: rank 0 only; None when it is off.
    Built before training starts so a missing eval split stops the run at step 0."""
    if not t.eval_every or not dist_info.is_main:
        return None
    from translate.eval.training import TrainingEval

    return TrainingEval(t, folder, device, amp_dtype)


def _evaluate(evaluate, step: int, trainer: Trainer, watcher, folder: Path, run: RunConfig, best):
    """Measure, report, and keep the generators as ``steps/<step>/`` when the first metric improved.
    The generators are the EMA ones when the run keeps them (``trainer.exported()``)."""
    report = evaluate(step, trainer.exported())  # also appends to <run>/eval_log.json
    for line in evaluate.notes(report):
        watcher.message(line)
    watcher.metrics(step, report.scalars())
    if not report.values or run.train.keep_last < 1:
        return best
    metric = report.values[0].metric  # the first metric asked for (or the data's default first)
    values = [v for v in report.values if v.metric == metric]
    value, higher = sum(v.value for v in values) / len(values), values[0].higher_is_better
    if not np.isfinite(value):
        return best
    if best is None or best.get("metric") != metric or (value > best["value"] if higher else value < best["value"]):
        best = {"step": step, "metric": metric, "value": value, "higher_is_better": higher}
        run_history.save_best(folder, trainer.exported(), step, run.translator, best)
        run_history.prune_history(folder, run.train.keep_last)
    return best


def _save(folder: Path, run: RunConfig, trainer: Trainer, dist_info) -> None:
    rng = _rng_state(trainer.device)
    if dist_info.enabled:
        # Each rank's RNG state (dropout masks differ per rank) travels to rank 0.
        gathered = [None] * dist_info.world_size
        torch.distributed.all_gather_object(gathered, rng)
        rng_states = gathered
    else:
        rng_states = [rng]
    if not dist_info.is_main:
        return
    state = {**trainer.state_dict(), "world_size": dist_info.world_size, "rng": rng_states}
    # SyncBatchNorm saves the same keys as BatchNorm2d, so exported weights load on one device.
    try:
        # The exported generators are the EMA ones by default, so apply and eval use them.
        ckpt.save_run(folder, trainer.exported(), trainer.step_count, run.translator, state)
        run_history.record_history(folder, run.train.keep_last)
    except OSError as exc:
        try:
            previous = f"step {ckpt.read_metadata(folder)['step']}"
        except ckpt.CheckpointError:
            previous = "none"
        raise TrainingError(f"{folder}: could not write the checkpoint of step {trainer.step_count} "
                            f"({exc.strerror or exc}); the previous checkpoint ({previous}) is intact") from None
