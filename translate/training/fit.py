"""Whether a run's crop fits its networks, solved rather than only refused: the one job here.

Before any data is read, the training loop asks ``check_crop_fits``: a crop that is not a
multiple of a generator's size multiple, or so small that a network shrinks it to nothing,
stops the run in one line that names a size (or a generator depth) that would fit.
"""
from __future__ import annotations

import copy
from typing import Optional, Tuple

import torch

from translate.training.trainer import TrainingError


class SizeTooSmallError(TrainingError):
    """The crop is below what the networks take; ``needed`` is the smallest size that works."""

    def __init__(self, message: str, needed: int):
        super().__init__(message)
        self.needed = needed


def check_crop_fits(translator, t) -> None:
    """Sizes that do not fit are solved, not only refused: the error names what would fit."""
    if "crop" in t.preprocess:
        for direction, (net, spec) in translator.exported().items():
            multiple = net.size_multiple
            if t.size % multiple:
                raise TrainingError(f"--size {t.size} does not fit {spec.architecture}: crops must be a multiple of "
                                    f"{multiple} (try --size {max(multiple, t.size // multiple * multiple)}"
                                    f"{_fitting_generator(spec.architecture, t.size)})")
    smallest, misfit = _smallest_size(translator, t.size)
    if smallest is not None:
        deeper = ", or a shallower discriminator (n_layers_d, num_scales)" if misfit in translator.discriminators else ""
        raise SizeTooSmallError(f"--size {t.size} is too small for {type(translator).__name__}'s networks ({misfit} "
                                f"would be down to one pixel); it needs --size >= {smallest}{deeper}", smallest)


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
