"""Learning-rate schedule of pix2pix/CycleGAN: constant, then linear decay to zero."""
from __future__ import annotations

from typing import Callable


def linear_decay(total_steps: int, decay_start: float) -> Callable[[int], float]:
    """Multiplier for step ``s``: 1 until ``decay_start * total``, then linearly to 0 at ``total``.

    The papers use 100 constant + 100 decaying epochs, i.e. ``decay_start=0.5``.
    """
    start = int(total_steps * decay_start)
    span = max(1, total_steps - start)

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / span)

    return factor
