"""An exponential moving average (EMA) of the generator weights.

``shadow <- d * shadow + (1 - d) * live`` after every optimiser step, with the decay warmed up as
``d = min(decay, (1 + step) / (10 + step))`` (TensorFlow's ``num_updates`` rule): without it a
0.999 average over a run of a few hundred steps would still be mostly the random initial weights.
Buffers (batch-norm running statistics) are copied, not averaged: they already are averages.

The EMA is the loop's business, not a translator's: it wraps ``translator.generators`` whatever
the translator is, lives in the training state beside the live weights (so a resume continues it
exactly), and the generators the loop exports (the saved ``generator_*.safetensors`` that apply
and eval read, and training-time eval) are the EMA copies. ``--set ema=false`` turns it off.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Tuple

import torch
from torch import nn

from translate.config import ConfigError


class GeneratorEMA:
    """A frozen copy of ``generators`` that follows the live weights at rate ``1 - decay``.

    >>> live = nn.ModuleDict({"G": nn.Linear(2, 2)})
    >>> ema = GeneratorEMA(live, decay=0.0)
    >>> with torch.no_grad():
    ...     _ = live["G"].weight.add_(1.0)
    >>> ema.update(step=1)
    >>> torch.equal(ema.shadow["G"].weight, live["G"].weight)
    True
    """

    def __init__(self, generators: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"config key 'ema_decay' must be at least 0 and less than 1; got {decay}")
        self.live, self.decay = generators, decay
        self.shadow = copy.deepcopy(generators)
        self.shadow.requires_grad_(False)
        self.shadow.eval()

    def current_decay(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the shadow towards the live weights; ``step`` is the number of steps taken so far."""
        d = self.current_decay(step)
        for s, p in zip(self.shadow.parameters(), self.live.parameters()):
            s.lerp_(p.detach().to(s.dtype), 1.0 - d)
        for s, b in zip(self.shadow.buffers(), self.live.buffers()):
            s.copy_(b)

    def swap_in(self, exported: Dict[str, Tuple[nn.Module, Any]]) -> Dict[str, Tuple[nn.Module, Any]]:
        """``translator.exported()`` with every live generator replaced by its EMA copy.

        Exported generators are submodules of ``translator.generators``, found by identity, so a
        translator need not know the EMA exists.
        """
        names = {id(module): name for name, module in self.live.named_modules()}
        out = {}
        for direction, (net, spec) in exported.items():
            name = names.get(id(net))
            if name is None:  # not a trained generator (cannot happen for the bundled translators)
                out[direction] = (net, spec)
            else:
                out[direction] = (self.shadow.get_submodule(name) if name else self.shadow, spec)
        return out

    def state_dict(self) -> Dict[str, torch.Tensor]:
        return self.shadow.state_dict()

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        self.shadow.load_state_dict(state)
