"""The residual output head of U-Net and ResNet generators: ``clamp(M(input) + network_output, -1, 1)``."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.colour_maps import apply_map, least_squares_map, transport_map


class ResidualOutput(nn.Module):
    """``clamp(M(input) + network_output, -1, 1)``: the generator learns the *change* to its input.

    With its network's output conv zeroed (``zero_network_output``; a random one is not near zero:
    ~15 dB of noise) a residual generator starts exactly at ``M(input)``, as residual image learning
    does (Kim et al. 2016, VDSR): for translations that keep most of the photo it starts where
    returning the input already scores, instead of from grey.

    ``input_map``: ``M`` is a learned colour map, a 1x1 convolution ``W x + b`` (the identity at
    first). A translation that must not keep the photo (photo -> pencil sketch) learns to drop it,
    and a translator with example pairs starts it at their least-squares colour map
    (``start_from``), which scores at least as well as returning the input or a flat colour; an
    unpaired one at the colour transfer between its two domains (``start_from_unpaired``). ``W``
    and ``b`` are stored as offsets ``theta`` with ``W = W0 + MAP_RATE * theta``: Adam moves a
    parameter by about the learning rate per step, so at 2e-4 a plain parameter would need ~5000
    steps to cross from 1 to 0; MAP_RATE makes that ~100 (the learning-rate multiplier of StyleGAN's
    mapping network). Without it (``input_map=False``: the checkpoints of before the map) ``M`` is
    the identity.
    """

    MAP_RATE = 50.0

    def __init__(self, channels: int, input_map: bool):
        super().__init__()
        self.input_map = input_map
        if input_map:
            self.register_buffer("start_weight", torch.eye(channels))
            self.register_buffer("start_bias", torch.zeros(channels))
            self.theta_weight = nn.Parameter(torch.zeros(channels, channels))
            self.theta_bias = nn.Parameter(torch.zeros(channels))

    def colour_map(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The current ``(W, b)`` of ``M``: C x C and C."""
        return (self.start_weight + self.MAP_RATE * self.theta_weight,
                self.start_bias + self.MAP_RATE * self.theta_bias)

    @torch.no_grad()
    def start_from(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Start ``M`` at the least-squares colour map from example pairs (N x C x H x W each, in
        [-1, 1]; colour_maps.least_squares_map); the learned offsets go back to zero."""
        if self.input_map:
            self._start_at(*least_squares_map(inputs, targets))

    @torch.no_grad()
    def start_from_unpaired(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Start ``M`` at the colour transfer from ``inputs``' colours to ``targets``' (any images of
        each domain, not pairs; colour_maps.transport_map): the unpaired counterpart of ``start_from``."""
        if self.input_map:
            self._start_at(*transport_map(inputs, targets))

    def freeze_map(self) -> None:
        """Keep ``M`` where it starts: its offsets get no gradient, so no optimiser moves them."""
        if self.input_map:
            self.theta_weight.requires_grad_(False)
            self.theta_bias.requires_grad_(False)

    def _start_at(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        self.start_weight.copy_(weight.to(self.start_weight.dtype))
        self.start_bias.copy_(bias.to(self.start_bias.dtype))
        self.theta_weight.zero_()
        self.theta_bias.zero_()

    def forward(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.input_map:
            x = apply_map(x, *self.colour_map())
        value = x + out
        # Clamped forward, identity backward (straight-through): a plain clamp passes no gradient
        # where input + change leaves [-1, 1], so a bright photo pixel under a dark sketch line
        # stayed stuck at white (photo -> sketch: 19.2 dB with the clamp, 20.0 without).
        return value + (value.clamp(-1.0, 1.0) - value).detach()


def make_residual_output(residual: bool, input_map: bool, in_channels: int, out_channels: int) -> Optional[ResidualOutput]:
    if not residual:
        return None
    if in_channels != out_channels:
        raise InvalidSettingError(f"residual needs as many output as input channels, got {in_channels} -> {out_channels}")
    return ResidualOutput(out_channels, input_map)
