"""Which sample each process reads at each step, as a pure function of (seed, epoch, step).

Every epoch is one permutation seeded by (seed, epoch). Process ``rank`` of
``world`` reads positions ``rank, rank + world, ...`` of it, so one process at
batch 2B reads exactly the images that two processes at batch B read together,
and a resumed run restarts mid-epoch by skipping positions, without reading them.
Items are ``(epoch, index)`` pairs so a dataset in a persistent worker process
still knows the epoch (it seeds its augmentation with it).
"""
from __future__ import annotations

import math
from typing import Iterator, Tuple

import torch
from torch.utils.data import Dataset, Sampler


class EpochSampler(Sampler):
    def __init__(self, length: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1, shuffle: bool = True):
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.epoch, self.start_batch = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        # Every process takes the same number of full batches; the short tail wraps around.
        return max(1, math.ceil(self.length / (self.batch_size * self.world_size)))

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.length)
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.length, generator=g)

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        order = self._order()
        needed = self.batches_per_epoch * self.batch_size * self.world_size
        order = order.repeat(math.ceil(needed / self.length))[:needed]
        mine = order[self.rank::self.world_size]
        for i in mine[self.start_batch * self.batch_size:].tolist():
            yield (self.epoch, i)

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch_size


class EpochIndexed(Dataset):
    """Adapts a dataset with ``set_epoch`` to the sampler's ``(epoch, index)`` items."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item):
        epoch, index = item
        self.dataset.set_epoch(epoch)
        return self.dataset[index]
