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
from translate.config import RunConfig
from translate.data.samples import SampleSet
from translate.devices import configure_threads, precision_name, resolve_device, resolve_precision
from translate.interop.loading import load_generator
from translate.registry import TRANSLATORS
from translate.fileio import remove_stale_temporaries
from translate.training import distributed
from translate.training.checks import (check_batch_fits, check_network_sizes, load_state, refuse_architecture_changes,
                                       refuse_unapplied_settings)
from translate.training.fit import SizeTooSmallError, check_crop_fits  # noqa: F401  (part of this API)
from translate.training.interrupt import StopRequests, TrainingInterrupted
from translate.training.sampler import EpochIndexed, EpochSampler
from translate.training.trainer import Trainer, TrainingError  # noqa: F401  (TrainingError is part of this API)
from translate.training.watch import NullWatcher, Watcher
from translate.translators.base import Translator
from translate.translators.residual import START_SAMPLES

DEFAULT_EPOCHS = 200  # the papers' 100 constant + 100 decaying epochs


def build_dataset(translator_cls, run: RunConfig, split: str = "train"):
    """The dataset ``translator_cls`` trains on (its ``build_dataset`` hook)."""
    return translator_cls.build_dataset(run, split)


def training_samples(translator_cls, run: RunConfig) -> SampleSet:
    """The few training items a translator starts from (its ``prepare`` and ``start_from_data``):
    opened and read only when a hook asks, then kept."""
    return SampleSet(lambda: build_dataset(translator_cls, run), START_SAMPLES)


def build_translator(run: RunConfig, resume: bool = False,
                     samples: Optional[SampleSet] = None) -> Tuple[RunConfig, Translator]:
    """The run with its options completed from the data, and its translator ready for step 1.

    Options completed by the translator's ``prepare`` (e.g. pix2pixHD's label count) are what
    config.yaml records. ``samples`` (default: ``training_samples`` of ``run``) is what ``prepare``
    may read; the loop hands the same object to ``start_from_data``, so the items are read once.
    A fresh run loads the weights it starts from (``warm_starts``); the translator only says
    which and how, the loop opens the files.
    """
    translator_cls = TRANSLATORS.get(run.translator)
    refuse_unapplied_settings(translator_cls, run)
    samples = training_samples(translator_cls, run) if samples is None else samples
    run = dataclasses.replace(run, model=translator_cls.prepare(run.model, run.train, samples))
    check_network_sizes(translator_cls, run)  # on the meta device, before anything is allocated
    translator = translator_cls(run.model, run.train)
    if not resume:
        for start in translator.warm_starts():
            net, spec = load_generator(Path(start.source), start.direction)
            start.load(net, spec)
    return run, translator


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


@dataclasses.dataclass
class _Session:
    """What one call of the loop works with, set up before its first step."""

    run: RunConfig
    folder: Path
    device: torch.device
    amp_dtype: Optional[torch.dtype]
    dist_info: Any
    translator: Translator
    dataset: Any
    sampler: EpochSampler
    trainer: Trainer
    total: int

    @property
    def per_epoch(self) -> int:
        return self.sampler.batches_per_epoch


def _train(run: RunConfig, resume: bool, dist_info, max_steps_this_call: Optional[int]) -> Path:
    session = _set_up(run, resume, dist_info)
    t = session.run.train
    evaluate = _quality_evaluator(t, session.folder, session.device, session.amp_dtype, dist_info)
    watcher = _open_run_folder(session) if dist_info.is_main else NullWatcher()
    try:
        _Steps(session, watcher, evaluate, max_steps_this_call).run()
    finally:
        watcher.close()
    return session.folder


def _set_up(run: RunConfig, resume: bool, dist_info) -> _Session:
    """The translator, its data and its trainer, every refusal made before a file is written."""
    t = run.train
    folder = Path(t.checkpoints_dir) / t.name
    if not resume and (folder / ckpt.TRAINING_STATE_FILE).exists():
        # Worded for both doors in: `translate train` and translate.train() share this loop.
        raise TrainingError(f"run folder {folder} exists: resume it (--resume / resume=True) or choose another name")
    device = resolve_device(t.device, dist_info.local_rank)
    amp_dtype = resolve_precision(t.precision, device)
    seed_everything(t.seed)

    translator_cls = TRANSLATORS.get(run.translator)
    samples = training_samples(translator_cls, run)  # read at most once, by prepare or start_from_data
    run, translator = build_translator(run, resume, samples)
    if resume:
        refuse_architecture_changes(folder, run)
    check_crop_fits(translator, t)
    dataset = build_dataset(translator_cls, run)
    # Read one sample here: a dataset whose every file is unreadable then stops with its own
    # one-line error, not with the multi-line traceback a DataLoader worker would wrap it in.
    dataset[0]
    check_batch_fits(t, len(dataset), dist_info.world_size)
    if not resume:
        # prepare's items when it read some (the same dataset: prepare ran on these options'
        # data); else a few items of the dataset these completed options open.
        translator.start_from_data(samples.or_from(dataset))
    sampler = EpochSampler(len(dataset), t.batch_size, t.seed, dist_info.rank, dist_info.world_size)
    total = t.steps or (t.epochs or DEFAULT_EPOCHS) * sampler.batches_per_epoch
    trainer = Trainer(translator, t, device, amp_dtype, total, dist_info)
    if resume:
        _resume(trainer, folder, total, dist_info, device)
    return _Session(run, folder, device, amp_dtype, dist_info, translator, dataset, sampler, trainer, total)


def _resume(trainer: Trainer, folder: Path, total: int, dist_info, device: torch.device) -> None:
    state = ckpt.load_training_state(folder)
    load_state(trainer, state, folder)
    if state.get("world_size", 1) == dist_info.world_size:
        _set_rng_state(state["rng"][dist_info.rank], device)
    step = trainer.step_count
    if step >= total:
        # Nothing to do is not success: the user asked for steps this run has already taken.
        raise TrainingError(f"--resume: {folder} is already at step {step} and {total} steps were asked in all; "
                            f"ask for more steps (--steps N / steps=N with N > {step})")


def _open_run_folder(s: _Session) -> Watcher:
    """The run folder made (rank 0), its config saved, and the watcher that logs into it."""
    t = s.run.train
    s.folder.mkdir(parents=True, exist_ok=True)
    # Temporaries of a run killed while saving (kill -9 cannot clean up after itself).
    remove_stale_temporaries(s.folder, recursive=True)
    s.run.save(s.folder / ckpt.CONFIG_FILE)
    step = s.trainer.step_count
    watcher = Watcher(s.folder, step, s.total, t.log_every, t.tensorboard)
    watcher.message(
        f"{s.run.translator}: {len(s.dataset)} training samples, {s.per_epoch} steps/epoch, steps {step}->{s.total}, "
        f"device {s.device}, precision {precision_name(s.amp_dtype)}, world size {s.dist_info.world_size}"
    )
    return watcher


class _Stopped(Exception):
    """A stop was asked for (a signal, or Ctrl-C that killed the loader's workers)."""


class _Steps:
    """The steps of one call: data order, logging, samples, evaluation and saves at their steps."""

    def __init__(self, session: _Session, watcher, evaluate, max_steps_this_call: Optional[int]):
        self.s, self.watcher, self.evaluate = session, watcher, evaluate
        self.step = session.trainer.step_count
        total = session.total
        self.stop_at = total if max_steps_this_call is None else min(total, self.step + max_steps_this_call)
        self.first_step = self.step + 1
        self.epoch, in_epoch = divmod(self.step, session.per_epoch)
        session.sampler.set_position(self.epoch, in_epoch)
        self.saves = _SaveClock(session.run.train, self.step)
        self.best = run_history.read_best(session.folder) if session.dist_info.is_main else None
        self.loader = None

    def run(self) -> None:
        with StopRequests() as stop:
            try:
                while self.step < self.stop_at:
                    batch = self._next_batch(stop)
                    if batch is not None and self._step(batch, stop):
                        raise _Stopped
            except _Stopped:
                self._stopped(stop)

    def _next_batch(self, stop: StopRequests):
        """The next batch, or None at the end of an epoch."""
        s = self.s
        if self.loader is None:
            self.loader = iter(_loader(s.dataset, s.sampler, s.run.train, s.device, self.epoch))
        try:
            return next(self.loader)
        except StopIteration:
            self.epoch += 1
            s.sampler.set_position(self.epoch, 0)
            self.loader = None
            return None
        except Exception:
            # Ctrl-C in a terminal also reaches the loader's worker processes, which die:
            # the step already finished is what gets saved.
            if stop.requested and not s.dist_info.enabled:
                raise _Stopped from None
            raise

    def _step(self, batch, stop: StopRequests) -> bool:
        """One optimisation step and what is due after it; whether to stop before the last step."""
        s, t = self.s, self.s.run.train
        g_out, d_out = s.trainer.step(s.trainer.to_device(batch))
        self.step = step = s.trainer.step_count
        self.watcher.step(step, self._logs(g_out, d_out), t.batch_size * s.dist_info.world_size)
        sample_due = (step % t.sample_every == 0) if t.sample_every else (step % s.per_epoch == 0)
        if sample_due or step == self.stop_at:
            self.watcher.samples(step, step // s.per_epoch, s.translator.visuals(batch, g_out.fakes))
        if self.evaluate is not None and step % t.eval_every == 0:
            self.best = _evaluate(self.evaluate, step, s.trainer, self.watcher, s.folder, s.run, self.best)
        stopping, due = _agree(stop.requested, self.saves.due(step, self.stop_at), s.dist_info, s.device)
        if due or stopping:
            _save(s.folder, s.run, s.trainer, s.dist_info)
            self.saves.saved(step)
        return stopping and step < self.stop_at

    def _logs(self, g_out, d_out) -> Dict[str, float]:
        # The first step of every call is logged too: the progress bar shows the loss terms from
        # step 1, not only after log_every steps (reading them synchronises the device).
        step = self.step
        if not (step % self.s.run.train.log_every == 0 or step == self.stop_at or step == self.first_step):
            return {}
        logs = {k: float(v) for k, v in {**g_out.logs, **d_out.logs}.items()}
        if not all(np.isfinite(list(logs.values()))):
            raise TrainingError(f"losses became non-finite at step {step}: {logs}")
        return logs

    def _stopped(self, stop: StopRequests) -> None:
        """Save the last finished step (once) and raise TrainingInterrupted saying how to continue."""
        s = self.s
        if self.saves.last_step != self.step:
            _save(s.folder, s.run, s.trainer, s.dist_info)
            self.saves.saved(self.step)
        how = stop.signal_name or "a signal"
        if self.saves.last_step == 0:
            message = f"stopped by {how} before the first step: nothing to save"
        else:
            message = f"stopped by {how}: step {self.step} saved to {s.folder} (continue with --resume)"
        self.watcher.message(message)
        raise TrainingInterrupted(message, self.step, s.folder)


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
