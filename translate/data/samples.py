"""A few training items spread over a dataset, read once and kept: the one job here.

Translators start from data before step 1 (pix2pix decides ``residual: auto`` from training
pairs, residual generators fit their colour map on them). The training loop makes one
``SampleSet`` for a fresh run and hands it to every hook that asks, so the items are read once
and every hook sees the same tensors; a translator never opens the data itself.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import torch


def spread_items(dataset: Any, count: int) -> Dict[str, torch.Tensor]:
    """``count`` items spread evenly over ``dataset`` (all of them when it is smaller), stacked per key."""
    count = min(len(dataset), count)
    items = [dataset[i * len(dataset) // count] for i in range(count)]
    return {k: torch.stack([item[k] for item in items]) for k in items[0] if torch.is_tensor(items[0][k])}


class SampleSet:
    """``count`` items spread evenly over the dataset ``open()`` returns, opened and read on first use."""

    def __init__(self, open: Callable[[], Any], count: int):
        self._open, self.count = open, count
        self._items: Optional[Dict[str, torch.Tensor]] = None

    @property
    def read(self) -> bool:
        """Whether the items have been read (by an earlier hook)."""
        return self._items is not None

    def items(self) -> Dict[str, torch.Tensor]:
        """The items stacked per key (``"A"``, ``"B"``, ...), read on the first call only."""
        if self._items is None:
            self._items = spread_items(self._open(), self.count)
        return self._items

    def or_from(self, dataset: Any) -> "SampleSet":
        """These samples when already read, else the same count read lazily from ``dataset``."""
        return self if self.read else SampleSet(lambda: dataset, self.count)
