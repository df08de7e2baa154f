"""The one training loop: every translator trains here.

The loop owns what translators must not care about: devices, mixed precision,
DistributedDataParallel, the order of optimiser steps, the LR schedule,
checkpoints and logging. Per step:

1. generator step: discriminators frozen, ``translator.generator_loss`` under
   autocast, backward, Adam step for all generators;
2. discriminator step: ``translator.discriminator_loss`` on the detached fakes,
   backward, Adam step for all discriminators.

Under torchrun each step's networks are wrapped in one DDP module per step
(``_Step``) whose forward returns the loss, so DDP sees exactly one forward and
one backward per optimiser step even when a translator calls a generator several
times (CycleGAN) or differentiates the critic twice (gradient penalty).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from translate import checkpoint as ckpt
from translate.config import RunConfig
from translate.data import PairedDataset, PreprocessConfig, UnpairedDataset
from translate.devices import autocast, configure_threads, grad_scaler, precision_name, resolve_device, resolve_precision
from translate.nets import set_requires_grad
from translate.registry import TRANSLATORS
from translate.train import distributed
from translate.train.sampler import EpochIndexed, EpochSampler
from translate.train.schedule import linear_decay
from translate.train.watch import NullWatcher, Watcher

DATASETS = {"paired": PairedDataset, "unpaired": UnpairedDataset}
DEFAULT_EPOCHS = 200  # the papers' 100 constant + 100 decaying epochs


class TrainingError(RuntimeError):
    """A run that cannot start or continue; the message is one line for the user."""


class _Step(nn.Module):
    """Holds one group of networks so DDP can wrap it; forward runs one translator loss."""

    def __init__(self, nets: nn.ModuleDict, loss_fn):
        super().__init__()
        self.nets = nets
        self._loss_fn = [loss_fn]  # in a list so nn.Module does not register the translator

    def forward(self, *args):
        result = self._loss_fn[0](*args)
        return result.loss, result


def build_dataset(kind: str, run: RunConfig, split: str = "train"):
    t = run.train
    pre = PreprocessConfig(mode=t.preprocess, load_size=t.load_size, crop_size=t.size, flip=t.flip)
    return DATASETS[kind](t.data, split=split, preprocess=pre, train=True,
                          channels_a=t.channels_a, channels_b=t.channels_b, seed=t.seed)


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


def _to_device(batch: Dict[str, Any], device: torch.device, channels_last: bool) -> Dict[str, Any]:
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if channels_last and value.dim() == 4:
                value = value.contiguous(memory_format=torch.channels_last)
        out[key] = value
    return out


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
        raise TrainingError(f"{folder} already holds a run: pass --resume to continue it, or choose another --name")
    device = resolve_device(t.device, dist_info.local_rank)
    amp_dtype = resolve_precision(t.precision, device)
    seed_everything(t.seed)

    translator_cls = TRANSLATORS.get(run.translator)
    translator = translator_cls(run.model, t)
    dataset = build_dataset(translator_cls.data_kind, run)
    sampler = EpochSampler(len(dataset), t.batch_size, t.seed, dist_info.rank, dist_info.world_size)
    per_epoch = sampler.batches_per_epoch
    total = t.steps or (t.epochs or DEFAULT_EPOCHS) * per_epoch

    generators, discriminators = translator.generators, translator.discriminators
    if dist_info.enabled and device.type == "cuda":
        # Batch statistics over the global batch, as one process with the whole batch would see.
        generators = nn.SyncBatchNorm.convert_sync_batchnorm(generators)
        discriminators = nn.SyncBatchNorm.convert_sync_batchnorm(discriminators)
        translator.generators, translator.discriminators = generators, discriminators
    memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
    for nets in (generators, discriminators):
        nets.to(device=device, memory_format=memory_format)
    for module in translator.__dict__.values():  # loss modules with weights (VGG) follow the nets
        if isinstance(module, nn.Module) and module not in (generators, discriminators):
            module.to(device)

    betas = (t.beta1, t.beta2)
    opt_g = torch.optim.Adam(generators.parameters(), lr=t.lr, betas=betas)
    opt_d = torch.optim.Adam(discriminators.parameters(), lr=t.lr, betas=betas)
    factor = linear_decay(total, t.lr_decay_start)
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, factor)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, factor)
    scaler = grad_scaler(device, amp_dtype)

    step = 0
    if resume:
        state = ckpt.load_training_state(folder)
        generators.load_state_dict(state["generators"])
        discriminators.load_state_dict(state["discriminators"])
        opt_g.load_state_dict(state["opt_G"])
        opt_d.load_state_dict(state["opt_D"])
        scaler.load_state_dict(state["scaler"])
        translator.load_extra_state(state["translator"], device)
        if state.get("world_size", 1) == dist_info.world_size:
            _set_rng_state(state["rng"][min(dist_info.rank, len(state["rng"]) - 1)], device)
        step = int(state["step"])
        # The schedule is a pure function of the step (and of the possibly raised total).
        for sched in (sched_g, sched_d):
            sched.last_epoch = step
            for group, base in zip(sched.optimizer.param_groups, sched.base_lrs):
                group["lr"] = base * factor(step)

    g_step: nn.Module = _Step(generators, translator.generator_loss)
    d_step: nn.Module = _Step(discriminators, translator.discriminator_loss)
    if dist_info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        g_step = DistributedDataParallel(g_step, device_ids=ids)
        d_step = DistributedDataParallel(d_step, device_ids=ids)

    if dist_info.is_main:
        folder.mkdir(parents=True, exist_ok=True)
        run.save(folder / ckpt.CONFIG_FILE)
        watcher = Watcher(folder, step, total, t.log_every, t.tensorboard)
        watcher.message(
            f"{run.translator}: {len(dataset)} training samples, {per_epoch} steps/epoch, steps {step}->{total}, "
            f"device {device}, precision {precision_name(amp_dtype)}, world size {dist_info.world_size}"
        )
    else:
        watcher = NullWatcher()

    loader = None
    stop_at = total if max_steps_this_call is None else min(total, step + max_steps_this_call)
    epoch, in_epoch = divmod(step, per_epoch)
    sampler.set_position(epoch, in_epoch)
    generators.train()
    discriminators.train()
    try:
        while step < stop_at:
            if loader is None:
                loader = iter(DataLoader(
                    EpochIndexed(dataset), batch_size=t.batch_size, sampler=sampler, num_workers=t.num_workers,
                    pin_memory=device.type == "cuda", drop_last=False,
                    persistent_workers=False,
                ))
            try:
                batch = next(loader)
            except StopIteration:
                epoch += 1
                sampler.set_position(epoch, 0)
                loader = None
                continue
            batch = _to_device(batch, device, t.channels_last)

            set_requires_grad(discriminators, False)
            with autocast(device, amp_dtype):
                g_loss, g_out = g_step(batch)
            opt_g.zero_grad(set_to_none=True)
            scaler.scale(g_loss).backward()
            scaler.step(opt_g)

            set_requires_grad(discriminators, True)
            with autocast(device, amp_dtype):
                d_loss, d_out = d_step(batch, g_out.fakes)
            opt_d.zero_grad(set_to_none=True)
            scaler.scale(d_loss).backward()
            scaler.step(opt_d)
            scaler.update()
            sched_g.step()
            sched_d.step()
            step += 1

            if step % t.log_every == 0 or step == stop_at:
                logs = {k: float(v) for k, v in {**g_out.logs, **d_out.logs}.items()}
                if not all(np.isfinite(list(logs.values()))):
                    raise TrainingError(f"losses became non-finite at step {step}: {logs}")
            else:
                logs = {}
            watcher.step(step, logs, t.batch_size * dist_info.world_size)
            sample_due = (step % t.sample_every == 0) if t.sample_every else (step % per_epoch == 0)
            if sample_due or step == stop_at:
                watcher.samples(step, step // per_epoch, translator.visuals(batch, g_out.fakes))
            if step % t.save_every == 0 or step == stop_at:
                _save(folder, run, translator, step, dist_info, device, opt_g, opt_d, scaler)
    finally:
        watcher.close()
    return folder


def _save(folder, run, translator, step, dist_info, device, opt_g, opt_d, scaler) -> None:
    rng = _rng_state(device)
    if dist_info.enabled:
        # Each rank's RNG state (dropout masks differ per rank) travels to rank 0.
        gathered = [None] * dist_info.world_size
        torch.distributed.all_gather_object(gathered, rng)
        rng_states = gathered
    else:
        rng_states = [rng]
    if not dist_info.is_main:
        return
    generators = translator.generators
    discriminators = translator.discriminators
    state = {
        "step": step,
        "world_size": dist_info.world_size,
        "generators": generators.state_dict(),
        "discriminators": discriminators.state_dict(),
        "opt_G": opt_g.state_dict(),
        "opt_D": opt_d.state_dict(),
        "scaler": scaler.state_dict(),
        "rng": rng_states,
        "translator": translator.extra_state(),
    }
    # SyncBatchNorm saves the same keys as BatchNorm2d, so exported weights load on one device.
    ckpt.save_run(folder, translator.exported(), step, run.translator, state)

