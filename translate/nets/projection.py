"""CUT's patch projection: sample feature vectors at chosen locations and project them.

For each encoder layer, ``N`` locations are drawn once and used for the input and the output
alike (the positive pairs of PatchNCE are the same place in both); every image of a batch uses
the same locations, as the reference does. Each layer's vectors go through its own two-layer MLP
(``Linear(C, k) -> ReLU -> Linear(k, k)``, the paper's ``mlp_sample`` head) and are L2-normalised.

The heads are built from the layer widths, which the generator declares (its ``encode`` run once
on a small image gives them): the reference creates them on the first batch instead, after the
optimiser and DDP exist; built here with the rest of the networks, every rank builds them from the
same seeded draws and the optimiser, the EMA and the checkpoint see them like any other weight.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sample_locations(features: Sequence[Tensor], count: int, generator: torch.Generator) -> List[Tensor]:
    """For each ``B x C x H x W`` feature map, ``min(count, H*W)`` distinct flat locations drawn
    with ``generator`` (a CPU generator: its state is saved with the run, so a resume repeats the
    draws); ``count`` 0 takes every location."""
    locations = []
    for feature in features:
        size = feature.shape[2] * feature.shape[3]
        if count <= 0 or count >= size:
            chosen = torch.arange(size)
        else:
            chosen = torch.randperm(size, generator=generator)[:count]
        locations.append(chosen.to(feature.device))
    return locations


def gather_patches(feature: Tensor, locations: Tensor) -> Tensor:
    """The feature vectors of ``feature`` (``B x C x H x W``) at flat ``locations``: ``B x N x C``."""
    return feature.flatten(2).index_select(2, locations).transpose(1, 2)


class PatchProjection(nn.Module):
    """One MLP head per encoder layer (``widths``: the layers' channel counts), projecting sampled
    patch features to ``channels`` dimensions; ``mlp=False`` only normalises (the paper's
    ``sample`` head, an ablation)."""

    def __init__(self, widths: Sequence[int], channels: int = 256, mlp: bool = True):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(width, channels), nn.ReLU(), nn.Linear(channels, channels)) if mlp
            else nn.Identity()
            for width in self.widths)

    def forward(self, features: Sequence[Tensor], locations: Sequence[Tensor]) -> List[Tensor]:
        """``B x N x k`` unit vectors per layer, at ``locations`` (from ``sample_locations``)."""
        if len(features) != len(self.heads):
            raise ValueError(f"{len(features)} feature maps for {len(self.heads)} projection heads")
        out = []
        for feature, where, head in zip(features, locations, self.heads):
            out.append(F.normalize(head(gather_patches(feature, where)), dim=-1, eps=1e-7))
        return out


def feature_widths(encode, in_channels: int, side: int, layers: Sequence[str],
                   device: Optional[torch.device] = None) -> List[int]:
    """The channel count of each of ``layers`` of a generator's ``encode``, from one small image."""
    with torch.no_grad():
        probe = torch.zeros(1, in_channels, side, side, device=device)
        return [int(f.shape[1]) for f in encode(probe, layers)]
