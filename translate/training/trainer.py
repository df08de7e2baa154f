"""One optimisation step of any translator, and the state that makes it resumable.

``Trainer`` owns the per-step mechanics the loop and the benchmarks share:
placing networks on the device, autocast, the two Adam optimisers, the LR
schedule, loss scaling and the DDP wrapping. Per step:

1. generator step: discriminators frozen, ``translator.generator_loss`` under
   autocast, backward, Adam step for all generators;
2. discriminator step: ``translator.discriminator_loss`` on the detached fakes,
   backward, Adam step for all discriminators.

Under torchrun each group of networks is wrapped in one DDP module (``_Step``)
whose forward returns the loss, so DDP sees exactly one forward and one backward
per optimiser step even when a translator calls a generator several times
(CycleGAN) or differentiates the critic twice (gradient penalty).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from translate.config import TrainConfig
from translate.devices import autocast, grad_scaler
from translate.errors import TranslateError
from translate.nets import set_requires_grad
from translate.training.distributed import DistInfo
from translate.training.ema import GeneratorEMA
from translate.training.schedule import linear_decay
from translate.translators.base import StepResult, Translator


class TrainingError(TranslateError, RuntimeError):
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


class Trainer:
    def __init__(self, translator: Translator, train: TrainConfig, device: torch.device, amp_dtype: Optional[torch.dtype],
                 total_steps: int, dist_info: DistInfo = DistInfo()):
        self.translator, self.device, self.amp_dtype = translator, device, amp_dtype
        self.dist_info = dist_info
        self.channels_last = train.channels_last
        if dist_info.enabled and device.type == "cuda":
            # Batch statistics over the global batch, as one process with the whole batch would see.
            translator.generators = nn.SyncBatchNorm.convert_sync_batchnorm(translator.generators)
            translator.discriminators = nn.SyncBatchNorm.convert_sync_batchnorm(translator.discriminators)
        self.generators, self.discriminators = translator.generators, translator.discriminators
        memory_format = torch.channels_last if train.channels_last else torch.contiguous_format
        for nets in (self.generators, self.discriminators):
            nets.to(device=device, memory_format=memory_format)
        for module in vars(translator).values():  # loss modules with weights (VGG) follow the nets
            if isinstance(module, nn.Module) and module not in (self.generators, self.discriminators):
                module.to(device)

        betas = (train.beta1, train.beta2)
        # A translator may ask for extra Adam arguments (DiscoGAN: weight_decay=1e-5).
        extra = dict(translator.optimizer_options())
        if device.type in ("cpu", "cuda"):
            # The fused kernel updates all parameters in one pass: on this CPU Adam over pix2pix's
            # 54 M-parameter U-Net took 0.56 s per step with the default per-tensor loop, 0.12 s
            # with foreach and 0.02 s fused (measured; see tools/BENCHMARKS.md).
            extra.setdefault("fused", True)
        self.opt_g = torch.optim.Adam(self.generators.parameters(), lr=train.lr, betas=betas, **extra)
        # TTUR (Heusel et al. 2017): the discriminator may learn at its own rate (lr_d; None = lr).
        lr_d = train.lr if train.lr_d is None else train.lr_d
        self.opt_d = torch.optim.Adam(self.discriminators.parameters(), lr=lr_d, betas=betas, **extra)
        self.lr_factor = linear_decay(total_steps, train.lr_decay_start)
        self.base_lrs = {id(self.opt_g): train.lr, id(self.opt_d): lr_d}
        # Made after the networks moved to the device (and to SyncBatchNorm), so the copy matches.
        self.ema = GeneratorEMA(self.generators, train.ema_decay) if train.ema else None
        self.scaler = grad_scaler(device, amp_dtype)
        self.step_count = 0
        self._apply_lr()

        self.g_step: nn.Module = _Step(self.generators, translator.generator_loss)
        self.d_step: nn.Module = _Step(self.discriminators, translator.discriminator_loss)
        self._trainable_when_wrapped = self._trainable()
        if dist_info.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.g_step = DistributedDataParallel(self.g_step, device_ids=ids)
            self.d_step = DistributedDataParallel(self.d_step, device_ids=ids)
        self.generators.train()
        self.discriminators.train()

    def _apply_lr(self) -> None:
        # The schedule is a pure function of the step, so resume needs no scheduler state.
        factor = self.lr_factor(self.step_count)
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = self.base_lrs[id(opt)] * factor

    def _trainable(self) -> frozenset:
        nets = (self.generators, self.discriminators)
        return frozenset(id(p) for net in nets for p in net.parameters() if p.requires_grad)

    def to_device(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, non_blocking=True)
                if self.channels_last and value.dim() == 4:
                    value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    def step(self, batch: Dict[str, Any]) -> Tuple[StepResult, StepResult]:
        """One generator and one discriminator update on a batch already on the device.

        Out of memory becomes a one-line ``TrainingError`` naming the settings to lower
        (the translator's own ``memory_hint`` when it has one).
        """
        try:
            return self._step(batch)
        except torch.OutOfMemoryError:
            hint = self.translator.memory_hint
            raise TrainingError(f"out of memory on {self.device} at step {self.step_count + 1}: {hint}") from None

    def _step(self, batch: Dict[str, Any]) -> Tuple[StepResult, StepResult]:
        self.translator.before_step(self.step_count)  # e.g. pix2pixHD unfreezing its global generator
        if self.dist_info.enabled and self._trainable() != self._trainable_when_wrapped:
            # DDP registered only the parameters trainable when it wrapped the networks; newly thawed
            # ones would not have their gradients averaged. A resumed run wraps everything anew.
            raise TrainingError(f"step {self.step_count}: parameters became trainable mid-run, which DDP cannot "
                                f"pick up; resume this run (translate train-hd does so for pix2pixHD's thaw)")
        set_requires_grad(self.discriminators, False)
        with autocast(self.device, self.amp_dtype):
            g_loss, g_out = self.g_step(batch)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)

        set_requires_grad(self.discriminators, True)
        with autocast(self.device, self.amp_dtype):
            d_loss, d_out = self.d_step(batch, g_out.fakes)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.opt_d)
        self.scaler.update()
        self.step_count += 1
        if self.ema is not None:
            self.ema.update(self.step_count)
        self._apply_lr()
        return g_out, d_out

    def exported(self):
        """The generators to save and evaluate: the EMA copies when the run keeps an EMA."""
        exported = self.translator.exported()
        return exported if self.ema is None else self.ema.swap_in(exported)

    def _parts(self) -> Dict[str, Any]:
        """The parts with a state dict of their own, under their keys of checkpoint.TRAINING_STATE_KEYS."""
        return {"generators": self.generators, "discriminators": self.discriminators, "opt_G": self.opt_g,
                "opt_D": self.opt_d, "scaler": self.scaler}

    def state_dict(self) -> Dict[str, Any]:
        state = {"step": self.step_count, **{key: part.state_dict() for key, part in self._parts().items()},
                 "translator": self.translator.extra_state()}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for key, part in self._parts().items():
            part.load_state_dict(state[key])
        self.translator.load_extra_state(state["translator"], self.device)
        if self.ema is not None:
            # A run saved without an EMA (ema turned on at resume) starts its average from the live weights.
            self.ema.load_state_dict(state.get("ema", self.generators.state_dict()))
        self.step_count = int(state["step"])
        self._apply_lr()
