"""Where evaluation images come from: two folders matched by name, or a dataset split.

Every reader returns uint8 HxWxC arrays (``translate.data.read_image``) or raises
``ImageReadError`` naming the file; the evaluator reports such files and goes on with the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np

from translate.data import ImageReadError, PairedDataset, detect_layout, list_images
from translate.errors import InputNotFoundError, TranslateError

_NAMES_SHOWN = 10


class PairingError(TranslateError, ValueError):
    """Predictions and targets that cannot be matched by file name; one line listing the names."""


def _names(names: List[str]) -> str:
    more = len(names) - _NAMES_SHOWN
    return ", ".join(names[:_NAMES_SHOWN]) + (f", ... ({more} more)" if more > 0 else "")


def _by_name(folder: Path) -> dict[str, Path]:
    """Images under ``folder`` (recursively, as ``translate apply`` writes them) keyed by their
    relative path without extension, so out/x.png matches target/x.jpg."""
    if not folder.is_dir():
        raise InputNotFoundError(f"{folder}: no such folder")
    found: dict[str, Path] = {}
    for path in list_images(folder, recursive=True):
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in found:
            raise PairingError(f"{folder} holds two images named {key!r}: {found[key].name}, {path.name}")
        found[key] = path
    if not found:
        raise InputNotFoundError(f"{folder}: no images found")
    return found


def match_folders(pred_dir: Path, target_dir: Path) -> List[Tuple[str, Path, Path]]:
    """(name, prediction, target) for every name in both folders; any unmatched name is an error."""
    preds, targets = _by_name(Path(pred_dir)), _by_name(Path(target_dir))
    only_pred = sorted(preds.keys() - targets.keys())
    only_target = sorted(targets.keys() - preds.keys())
    if only_pred or only_target:
        parts = [f"{len(names)} only in {folder} ({_names(names)})"
                 for folder, names in ((pred_dir, only_pred), (target_dir, only_target)) if names]
        raise PairingError(f"predictions and targets do not match by file name: {'; '.join(parts)}")
    return [(name, preds[name], targets[name]) for name in sorted(preds)]


def target_part(target: np.ndarray, pred: np.ndarray, part: str, path: Path) -> np.ndarray:
    """The part of ``target`` to compare with ``pred``.

    ``auto``: the whole image when sizes agree; the right (B) half when the target is a
    side-by-side A|B pair exactly twice as wide as the prediction (a pix2pix dataset split).
    """
    h, w = target.shape[:2]
    if part == "auto":
        part = "B" if (h, w) != pred.shape[:2] and (h, w // 2) == pred.shape[:2] and w % 2 == 0 else "whole"
    if part in ("A", "B"):
        half = w // 2
        target = target[:, :half] if part == "A" else target[:, half: 2 * half]
    if target.shape[:2] != pred.shape[:2]:
        raise ImageReadError(path, f"size {target.shape[1]}x{target.shape[0]} differs from the prediction's "
                                   f"{pred.shape[1]}x{pred.shape[0]}")
    return target


@dataclass
class PairedItem:
    """One (input, target) pair of a paired split, read on demand."""

    name: str
    read: Callable[[], Tuple[np.ndarray, np.ndarray]]


def data_kind(root: Path, split: str) -> str:
    """"paired" or "unpaired", from the folder layout (see ``translate.data.detect_layout``)."""
    return "unpaired" if detect_layout(root, split) == "unpaired" else "paired"


def paired_split(root: Path, split: str, direction: str, in_channels: int, out_channels: int,
                 limit: Optional[int] = None) -> List[PairedItem]:
    """(input, target) pairs of a paired split, for a generator translating ``direction``.

    The dataset's own reader cuts A|B images and matches A/ and B/ files exactly as training does;
    no resizing or cropping happens, so the whole test image is evaluated.
    """
    channels = {"A": in_channels, "B": out_channels} if direction == "AtoB" else {"A": out_channels, "B": in_channels}
    dataset = PairedDataset(root, split, preprocess=None, train=False,
                            channels_a=channels["A"], channels_b=channels["B"])
    items = []
    for index, (path_a, _) in enumerate(dataset.pairs[:limit] if limit else dataset.pairs):
        def read(index=index):
            a, b = dataset._read_pair(index)  # raises ImageReadError; no substitute sample
            return (a, b) if direction == "AtoB" else (b, a)
        items.append(PairedItem(path_a.stem, read))
    return items


def unpaired_split(root: Path, split: str, limit: Optional[int] = None) -> dict[str, List[Path]]:
    """Image paths of both domains of an unpaired split: {"A": [...], "B": [...]}."""
    out = {}
    for domain in ("A", "B"):
        folder = Path(root) / f"{split}{domain}"
        paths = list_images(folder)
        if not paths:
            raise InputNotFoundError(f"{folder}: no images found")
        out[domain] = paths[:limit] if limit else paths
    return out
