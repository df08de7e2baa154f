"""Consecutive (figure, frame) pairs for the pose2frame translator's temporal training.

Reads the same layouts as pix2pixHD's rgb input (``train_A/`` figures + ``train_B/`` frames,
as ``translate poses extract`` writes them). Files sort into clips by name: ``<clip>_<frame
number>`` (the trailing number is the frame). Item ``k`` is the k-th frame that has a
predecessor in its clip, with that predecessor: {"A_prev", "B_prev", "A", "B", paths}. Both
frames of an item get the same random crop and flip (they are loaded with one seed), so the
pair stays aligned as it was filmed.
"""
from __future__ import annotations

import re
from typing import Any, List, Tuple

from translate.errors import DataError
from translate.data.hd_pairs import HDPairedDataset, HDSources

_FRAME_NUMBER = re.compile(r"^(.*?)[_-]?(\d+)$")


def clip_of(stem: str) -> str:
    """``dancer_000123`` -> ``dancer``; names without a trailing number are each their own clip."""
    match = _FRAME_NUMBER.match(stem)
    return match.group(1) if match else stem


def consecutive_pairs(sources: HDSources) -> List[Tuple[int, int]]:
    """(previous, current) indices of every frame whose previous frame is in the same clip."""
    stems = [item.input.stem for item in sources.items]
    order = sorted(range(len(stems)), key=lambda i: stems[i])
    return [(a, b) for a, b in zip(order, order[1:]) if clip_of(stems[a]) == clip_of(stems[b])]


class FramePairsDataset(HDPairedDataset):
    """Consecutive-frame pairs over an HD paired dataset with rgb input (see the module docstring)."""

    def __init__(self, sources: HDSources, **kwargs: Any):
        super().__init__(sources, "rgb", **kwargs)
        self.pairs = consecutive_pairs(sources)
        if not self.pairs:
            raise DataError(f"no two consecutive frames of one clip among {len(sources.items)} file(s) (e.g. "
                             f"{sources.items[0].input if sources.items else 'none'}): temporal training needs "
                             f"frames named <clip>_<number>, as translate poses extract writes them")

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, index: int) -> dict[str, Any]:
        prev, cur = (self.sources.items[i] for i in self.pairs[index])
        a = self._load_rgb(index, prev)  # same index -> same seed -> same crop and flip
        b = self._load_rgb(index, cur)
        return {"A_prev": a["A"], "B_prev": a["B"], "A": b["A"], "B": b["B"],
                "A_path": str(cur.input), "B_path": str(cur.target)}
