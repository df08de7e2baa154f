"""Norm, padding and weight-init helpers shared by generators and discriminators.

Names (``"batch"``, ``"reflect"``, ``"normal"``) rather than classes travel through
configs and checkpoint metadata, so every lookup here goes through a small dict and
fails with the list of valid names instead of an ``if/elif`` falling through.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict, Iterable, Optional, Tuple, Union

import torch
from torch import nn
from torch.nn.utils import parametrize

from translate.errors import InvalidSettingError

NormFactory = Callable[[int], nn.Module]


def _unknown(kind: str, name: str, valid: Iterable[str]) -> InvalidSettingError:
    # A TranslateError (and still a ValueError): a name read from a file or a config is the
    # user's to fix, so it is one line, never a traceback.
    return InvalidSettingError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(valid))}")


def _identity(num_features: int) -> nn.Module:
    return nn.Identity()


# Instance norm without affine parameters or running stats is the pix2pix/CycleGAN
# convention; keeping it means their checkpoints have no norm entries to map.
_NORMS: Dict[str, NormFactory] = {
    "batch": functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True),
    "instance": functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
    "none": _identity,
}


def norm_names() -> Tuple[str, ...]:
    """The names ``norm_layer`` builds: what config validation offers for ``norm`` / ``norm_d``."""
    return tuple(_NORMS)


def norm_layer(name: str) -> NormFactory:
    """Return ``f(num_features) -> nn.Module`` for ``"batch"``, ``"instance"`` or ``"none"``."""
    try:
        return _NORMS[name]
    except KeyError:
        raise _unknown("norm", name, _NORMS) from None


def conv_bias(norm: str) -> bool:
    """Whether a conv followed by ``norm`` should carry a bias.

    Batch norm subtracts the per-channel mean, which cancels any bias, so the reference
    networks drop it there; keeping the same rule keeps parameter lists identical to
    theirs. (The reference also drops it for no norm at all; we keep it, because
    without a norm the bias is not redundant. No published checkpoint uses that case.)
    """
    norm_layer(norm)  # validate the name
    return norm != "batch"


_PADDINGS: Dict[str, Optional[Callable[[int], nn.Module]]] = {
    "reflect": nn.ReflectionPad2d,
    "replicate": nn.ReplicationPad2d,
    "zero": None,
}

# The same names as ``padding_mode`` of ``nn.Conv2d``, for layers that pad inside the conv.
_CONV_PADDING_MODES: Dict[str, str] = {"reflect": "reflect", "replicate": "replicate", "zero": "zeros"}


def padding_names() -> Tuple[str, ...]:
    """The names ``padding_layer`` builds: what config validation offers for ``padding``."""
    return tuple(_PADDINGS)


def padding_layer(name: str, amount: int) -> Optional[nn.Module]:
    """A padding module for ``"reflect"`` or ``"replicate"``; ``None`` for ``"zero"``.

    For ``"zero"`` the caller pads inside the conv (``padding=amount``) instead of adding a
    module: that is how the reference networks are built, so module lists (and therefore
    state-dict order) stay the same as theirs.
    """
    try:
        factory = _PADDINGS[name]
    except KeyError:
        raise _unknown("padding", name, _PADDINGS) from None
    return None if factory is None else factory(amount)


def conv_padding_mode(name: str) -> str:
    """``nn.Conv2d(padding_mode=...)`` value for a padding name (``"zero"`` -> ``"zeros"``)."""
    try:
        return _CONV_PADDING_MODES[name]
    except KeyError:
        raise _unknown("padding", name, _CONV_PADDING_MODES) from None


def _normal(w: torch.Tensor, gain: float) -> None:
    nn.init.normal_(w, 0.0, gain)


def _xavier(w: torch.Tensor, gain: float) -> None:
    nn.init.xavier_normal_(w, gain=gain)


def _kaiming(w: torch.Tensor, gain: float) -> None:
    # gain is unused, as in pix2pix: kaiming fixes the scale from fan-in.
    nn.init.kaiming_normal_(w, a=0, mode="fan_in")


def _orthogonal(w: torch.Tensor, gain: float) -> None:
    nn.init.orthogonal_(w, gain=gain)


_INITS: Dict[str, Callable[[torch.Tensor, float], None]] = {
    "normal": _normal,
    "xavier": _xavier,
    "kaiming": _kaiming,
    "orthogonal": _orthogonal,
}



def init_names() -> Tuple[str, ...]:
    """The kinds ``init_weights`` applies: what config validation offers for ``init``."""
    return tuple(_INITS)


_WEIGHTED = (nn.modules.conv._ConvNd, nn.Linear)


def _raw_weight(module: nn.Module) -> torch.Tensor:
    # Spectral norm re-parametrises ``weight``; initialise the stored tensor it derives from.
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


@torch.no_grad()
def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv/linear weights the pix2pix way and return ``net``.

    ``kind``: ``"normal"`` (N(0, gain), gain is the std), ``"xavier"`` / ``"orthogonal"``
    (gain is their gain), ``"kaiming"`` (fan-in, gain unused). Biases become 0; batch-norm
    weights N(1, gain) and biases 0. Instance norm here has no parameters to touch.
    """
    try:
        init = _INITS[kind]
    except KeyError:
        raise _unknown("init kind", kind, _INITS) from None
    for module in net.modules():
        if isinstance(module, _WEIGHTED):
            init(_raw_weight(module), gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net


def set_requires_grad(nets: Union[nn.Module, Iterable[Optional[nn.Module]]], flag: bool) -> None:
    """Turn gradients of every parameter of ``nets`` on or off.

    Freezing the discriminator during the generator step saves computing gradients that
    the step would throw away. ``None`` entries are skipped so optional nets can be passed.
    """
    if isinstance(nets, nn.Module):
        nets = [nets]
    for net in nets:
        if net is None:
            continue
        for p in net.parameters():
            p.requires_grad_(flag)


def run_stages(stages: Iterable[nn.Module], x: torch.Tensor, checkpointed: bool) -> torch.Tensor:
    """Run ``stages`` in order; with ``checkpointed`` (and gradients on) each stage's activations
    are recomputed in backward instead of kept: much less memory for ~30% more compute."""
    from torch.utils.checkpoint import checkpoint

    recompute = checkpointed and torch.is_grad_enabled()
    for stage in stages:
        x = checkpoint(stage, x, use_reentrant=False) if recompute else stage(x)
    return x
