"""Paired and unpaired image datasets in the folder layouts of pytorch-CycleGAN-and-pix2pix.

Layouts under `root` (see `detect_layout`):
  unpaired        root/trainA/*, root/trainB/*          (split "test" -> testA/, testB/)
  paired_ab       root/train/*  side-by-side images, left half A, right half B
  paired_folders  root/train/A/*, root/train/B/*        matched by file stem

Every item is a dict {"A": tensor, "B": tensor, "A_path": str, "B_path": str}, tensors float32
CxHxW in [-1, 1]. Random preprocessing depends only on (seed, epoch, index): call `set_epoch` at
the start of each epoch, and any process (DataLoader worker, resumed run) gets the same sample.

A file that cannot be read is logged once (logger "translate.data"), added to `bad_files` and
replaced by the next readable sample, so one corrupt file does not end a long run. `bad_files`
lives in the process that read the file: with DataLoader workers each worker keeps its own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from translate.errors import DataError, InputNotFoundError

from .io import ImageReadError, convert_channels, list_images, read_image, to_tensor
from .transforms import PreprocessConfig, apply_seeded, build_transform, sample_seed

logger = logging.getLogger("translate.data")

_MAX_NAMES_IN_ERROR = 10


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputNotFoundError(f"no images found in {folder} (the folder does not exist)")
    images = list_images(folder)
    if not images:
        raise DataError(f"no images found in {folder}")
    return images


def _name_list(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES_IN_ERROR])
    more = len(names) - _MAX_NAMES_IN_ERROR
    return shown + (f", ... ({more} more)" if more > 0 else "")


def _match_by_stem(dir_a: Path, dir_b: Path) -> list[tuple[Path, Path]]:
    """Pair A/x.* with B/x.* (extensions may differ); any name on one side only is an error."""
    by_stem: list[dict[str, Path]] = []
    for folder in (dir_a, dir_b):
        stems: dict[str, Path] = {}
        for path in _images_in(folder):
            if path.stem in stems:
                raise DataError(f"{folder} holds two images named {path.stem!r}: {stems[path.stem].name}, {path.name}")
            stems[path.stem] = path
        by_stem.append(stems)
    stems_a, stems_b = by_stem
    only_a = sorted(stems_a.keys() - stems_b.keys())
    only_b = sorted(stems_b.keys() - stems_a.keys())
    if only_a or only_b:
        parts = [
            f"{len(names)} only in {side}/ ({_name_list(names)})"
            for side, names in (("A", only_a), ("B", only_b))
            if names
        ]
        raise DataError(f"A/ and B/ under {dir_a.parent} do not match by file name: {'; '.join(parts)}")
    return [(stems_a[s], stems_b[s]) for s in sorted(stems_a)]


class UnreadableDatasetError(ImageReadError, RuntimeError):
    """Not one sample of a dataset could be read; one line naming the dataset and its files."""


class _SeededImageDataset(Dataset):
    """Epoch bookkeeping, per-sample seeds and bad-file fallback shared by the datasets below.
    Subclasses implement `__len__` and `_load(index) -> item`, raising ImageReadError for a bad file."""

    def __init__(self, preprocess: PreprocessConfig | None, train: bool, seed: int):
        self.preprocess = preprocess if preprocess is not None else PreprocessConfig()
        self.train = train
        self.seed = int(seed)
        self.epoch = 0
        self.bad_files: set[str] = set()
        self.transform = build_transform(self.preprocess, train)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _sample_seed(self, index: int, stream: int = 0) -> int:
        return sample_seed(self.seed, self.epoch, index, stream)

    def _read(self, path: Path, channels: int) -> np.ndarray:
        key = str(path)
        if key in self.bad_files:  # already reported; do not pay for (or log) the failure again
            raise ImageReadError(path, "skipped: failed to read earlier")
        return read_image(path, channels)

    def _remember_bad(self, error: ImageReadError) -> None:
        if error.path not in self.bad_files:
            self.bad_files.add(error.path)
            logger.warning("skipping unreadable image %s", error)

    def _load(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} items")
        index %= n
        # Walk forward from `index` to the first readable sample; the substitute is seeded by its
        # own index, so what comes back is still a function of (seed, epoch, index) alone.
        for offset in range(n):
            try:
                return self._load((index + offset) % n)
            except ImageReadError as error:
                self._remember_bad(error)
        raise UnreadableDatasetError(
            getattr(self, "root", type(self).__name__),
            f"every sample failed to read; unreadable files: {_name_list(sorted(self.bad_files))}",
        )


class _TwoDomainDataset(_SeededImageDataset):
    """A and B images of one split under `root`: the arguments every layout takes, read once here.
    Subclasses find their files in `_find_images` (called last in __init__), raising for a bad layout."""

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        preprocess: PreprocessConfig | None = None,
        train: bool = True,
        channels_a: int = 3,
        channels_b: int = 3,
        seed: int = 0,
    ):
        super().__init__(preprocess, train, seed)
        self.root = Path(root)
        self.split = split
        self.channels_a, self.channels_b = channels_a, channels_b
        self._find_images()

    def _find_images(self) -> None:
        raise NotImplementedError


class PairedDataset(_TwoDomainDataset):
    """Aligned pairs (pix2pix): side-by-side AB images in root/split/, or root/split/A and B/.

    A and B get the same random crop and flip. Item: {"A", "B", "A_path", "B_path"}; for
    side-by-side images both paths name the AB file.
    """

    def _find_images(self) -> None:
        folder = self.root / self.split
        if (folder / "A").is_dir() or (folder / "B").is_dir():
            self.layout = "paired_folders"
            self.pairs = _match_by_stem(folder / "A", folder / "B")
        else:
            self.layout = "paired_ab"
            self.pairs = [(p, p) for p in _images_in(folder)]

    def __len__(self) -> int:
        return len(self.pairs)

    def _read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        path_a, path_b = self.pairs[index]
        if self.layout == "paired_ab":
            ab = self._read(path_a, 1 if self.channels_a == self.channels_b == 1 else 3)
            half = ab.shape[1] // 2
            if half == 0:
                raise ImageReadError(path_a, f"too narrow ({ab.shape[1]} px) to hold an A|B pair")
            a, b = ab[:, :half], ab[:, half : 2 * half]  # an odd last column belongs to neither
            return convert_channels(a, self.channels_a), convert_channels(b, self.channels_b)
        a, b = self._read(path_a, self.channels_a), self._read(path_b, self.channels_b)
        if a.shape[:2] != b.shape[:2]:
            # Treated like an unreadable file: one mismatched pair should not end a run.
            raise ImageReadError(
                path_b, f"size {b.shape[1]}x{b.shape[0]} differs from {path_a} ({a.shape[1]}x{a.shape[0]})"
            )
        return a, b

    def _load(self, index: int) -> dict[str, Any]:
        a, b = self._read_pair(index)
        out = apply_seeded(self.transform, self._sample_seed(index), image=a, image_b=b)
        path_a, path_b = self.pairs[index]
        return {
            "A": to_tensor(out["image"]),
            "B": to_tensor(out["image_b"]),
            "A_path": str(path_a),
            "B_path": str(path_b),
        }


class UnpairedDataset(_TwoDomainDataset):
    """Two unaligned domains (CycleGAN): root/{split}A and root/{split}B.

    Length is max(len A, len B). A is taken in order (index % len A); B follows an order that is a
    fresh shuffle for every (seed, epoch), so pairings change between epochs yet replay exactly.
    """

    def _find_images(self) -> None:
        self.paths_a = _images_in(self.root / f"{self.split}A")
        self.paths_b = _images_in(self.root / f"{self.split}B")
        self._b_order_cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def b_order(self, epoch: int | None = None) -> np.ndarray:
        """Index into B for every item of `epoch` (default: the current one)."""
        epoch = self.epoch if epoch is None else int(epoch)
        if self._b_order_cache is None or self._b_order_cache[0] != epoch:
            # Whole permutations back to back, so when B is the smaller domain each B image is
            # still used about equally often. Stream 0xB keeps this apart from transform seeds.
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, 0xB]))
            n_b, reps = len(self.paths_b), -(-len(self) // len(self.paths_b))
            order = np.concatenate([rng.permutation(n_b) for _ in range(reps)])[: len(self)]
            self._b_order_cache = (epoch, order)
        return self._b_order_cache[1]

    def _load(self, index: int) -> dict[str, Any]:
        path_a = self.paths_a[index % len(self.paths_a)]
        path_b = self.paths_b[int(self.b_order()[index])]
        a, b = self._read(path_a, self.channels_a), self._read(path_b, self.channels_b)
        # A and B are unrelated images, so they get independent random crops (streams 0 and 1).
        a = apply_seeded(self.transform, self._sample_seed(index, 0), image=a)["image"]
        b = apply_seeded(self.transform, self._sample_seed(index, 1), image=b)["image"]
        return {"A": to_tensor(a), "B": to_tensor(b), "A_path": str(path_a), "B_path": str(path_b)}


# Which dataset class reads each layout; the CLI builds datasets through this, not an if/elif.
LAYOUT_DATASETS: dict[str, type[_TwoDomainDataset]] = {
    "unpaired": UnpairedDataset,
    "paired_ab": PairedDataset,
    "paired_folders": PairedDataset,
}


def detect_layout(root: str | os.PathLike, split: str = "train") -> str:
    """"unpaired" (trainA/ + trainB/), "paired_folders" (train/A/ + train/B/) or "paired_ab"
    (images directly in train/); anything else is a ValueError saying what was expected."""
    root = Path(root)
    if not root.is_dir():
        raise InputNotFoundError(f"dataset folder not found: {root}")
    split_dir = root / split
    if (root / f"{split}A").is_dir() and (root / f"{split}B").is_dir():
        return "unpaired"
    if (split_dir / "A").is_dir() and (split_dir / "B").is_dir():
        return "paired_folders"
    if split_dir.is_dir() and list_images(split_dir):
        return "paired_ab"
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    raise DataError(
        f"cannot tell the dataset layout of {root}: expected {split}A/ and {split}B/ (unpaired), "
        f"{split}/A/ and {split}/B/ (paired folders) or images in {split}/ (side-by-side A|B pairs); "
        f"found {_name_list(found) or 'nothing'}"
    )
