"""Paired data for pix2pixHD: label maps (+ instance maps) or RGB condition images -> photos.

Layouts under `root` for split "train" (see `find_hd_sources`):
  input "label"  root/train_label/ + root/train_img/ [+ root/train_inst/]   pix2pixHD's own
                 root/train/A/ (label maps) + root/train/B/ [+ root/train/inst/]
  input "rgb"    root/train_A/ + root/train_B/                               pix2pixHD with label_nc 0
                 root/train/A/ + root/train/B/, or side-by-side A|B images in root/train/

Files are matched by name; when names differ throughout (Cityscapes' `_gtFine_labelIds.png` vs
`_leftImg8bit.png`) they are matched in sorted order, as pix2pixHD does, provided the counts agree.

Items: {"A", "B", "A_path", "B_path"} plus "inst" when instance maps are used. For label input "A"
is int64 1xHxW class ids and "inst" int64 1xHxW instance ids (the translator one-hot encodes them
on its device: a 35-class one-hot 1024x512 map is 73 MB, too much to ship through workers); for
rgb input "A" is a float image in [-1, 1]. Label and instance maps go through the transform as
albumentations `mask` targets, so they are resized nearest-neighbour and cropped and flipped with
the photo. Each sample is finally cropped (bottom/right) to a multiple of the generator's
`size_multiple`, so no image size can break the network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .datasets import _SeededImageDataset, _images_in, _name_list
from .io import ImageReadError, convert_channels, to_tensor
from .labels import check_label_ids, read_label_map, stack_ids
from .transforms import PreprocessConfig, apply_seeded

from translate.errors import DataError, InputNotFoundError

INPUT_KINDS = ("label", "rgb")


@dataclass(frozen=True)
class HDSource:
    input: Path
    target: Path
    instances: Optional[Path] = None
    side_by_side: bool = False  # one A|B image holds both input and target


@dataclass
class HDSources:
    layout: str
    items: list[HDSource]

    @property
    def has_instances(self) -> bool:
        return bool(self.items) and all(item.instances is not None for item in self.items)


def _match(inputs: list[Path], targets: list[Path], what: str) -> list[tuple[Path, Path]]:
    by_stem = {p.stem: p for p in targets}
    if len(by_stem) == len(targets) and {p.stem for p in inputs} == set(by_stem) and len(inputs) == len(targets):
        return [(p, by_stem[p.stem]) for p in inputs]
    if len(inputs) == len(targets):
        return list(zip(inputs, targets))  # pix2pixHD's rule: sorted order
    raise DataError(f"{what}: {len(inputs)} input files but {len(targets)} targets, and their names do not "
                     f"match (e.g. {_name_list([p.name for p in inputs[:3]])} vs "
                     f"{_name_list([p.name for p in targets[:3]])})")


def _folder_pairs(inputs_dir: Path, targets_dir: Path, inst_dir: Optional[Path], layout: str) -> HDSources:
    pairs = _match(_images_in(inputs_dir), _images_in(targets_dir), f"{inputs_dir} and {targets_dir}")
    instances: list[Optional[Path]] = [None] * len(pairs)
    if inst_dir is not None and inst_dir.is_dir():
        matched = _match([a for a, _ in pairs], _images_in(inst_dir), f"{inputs_dir} and {inst_dir}")
        instances = [inst for _, inst in matched]
    return HDSources(layout, [HDSource(a, b, i) for (a, b), i in zip(pairs, instances)])


def find_hd_sources(root: str | os.PathLike, split: str, input_kind: str) -> HDSources:
    """The (input, target, instance) files of `split`, in one of the layouts above."""
    if input_kind not in INPUT_KINDS:
        raise DataError(f"unknown input kind {input_kind!r}; choose one of {', '.join(INPUT_KINDS)}")
    root = Path(root)
    if not root.is_dir():
        raise InputNotFoundError(f"dataset folder not found: {root}")
    sub = root / split
    if input_kind == "label":
        if (root / f"{split}_label").is_dir():
            return _folder_pairs(root / f"{split}_label", root / f"{split}_img", root / f"{split}_inst", "pix2pixhd")
        if (sub / "A").is_dir():
            return _folder_pairs(sub / "A", sub / "B", sub / "inst", "paired_folders")
        raise DataError(f"{root}: input=label needs {split}_label/ and {split}_img/ (pix2pixHD layout, optional "
                         f"{split}_inst/) or {split}/A/ (label maps) and {split}/B/; for RGB condition images "
                         f"use --set input=rgb")
    if (root / f"{split}_A").is_dir():
        return _folder_pairs(root / f"{split}_A", root / f"{split}_B", None, "pix2pixhd")
    if (sub / "A").is_dir():
        return _folder_pairs(sub / "A", sub / "B", None, "paired_folders")
    if sub.is_dir():
        return HDSources("paired_ab", [HDSource(p, p, side_by_side=True) for p in _images_in(sub)])
    raise DataError(f"{root}: input=rgb needs {split}_A/ and {split}_B/, {split}/A/ and {split}/B/, or "
                     f"side-by-side A|B images in {split}/")


def _fit(array: np.ndarray, multiple: int, path: Path) -> np.ndarray:
    h, w = array.shape[:2]
    h2, w2 = h - h % multiple, w - w % multiple
    if not (h2 and w2):
        raise ImageReadError(path, f"{w}x{h} after preprocessing is smaller than the network's multiple {multiple}")
    return array[:h2, :w2]


class HDPairedDataset(_SeededImageDataset):
    """Condition -> photo pairs for pix2pixHD (see the module docstring for layouts and items)."""

    def __init__(
        self,
        sources: HDSources,
        input_kind: str,
        preprocess: PreprocessConfig | None = None,
        train: bool = True,
        num_classes: Optional[int] = None,
        instance_maps: bool = False,
        channels_a: int = 3,
        channels_b: int = 3,
        size_multiple: int = 1,
        seed: int = 0,
    ):
        super().__init__(preprocess, train, seed)
        if input_kind == "label" and num_classes is None:
            raise DataError("label input needs num_classes")
        if instance_maps and not sources.has_instances:
            raise DataError("instance_maps is on but the dataset has no instance maps (e.g. train_inst/)")
        self.sources, self.input_kind = sources, input_kind
        self.num_classes, self.instance_maps = num_classes, instance_maps
        self.channels_a, self.channels_b = channels_a, channels_b
        self.size_multiple = int(size_multiple)

    def __len__(self) -> int:
        return len(self.sources.items)

    def _target(self, src: HDSource) -> np.ndarray:
        return self._read(src.target, self.channels_b)

    def _load_label(self, index: int, src: HDSource) -> dict[str, Any]:
        label = read_label_map(src.input)
        check_label_ids(label, self.num_classes, src.input)
        instances = read_label_map(src.instances) if self.instance_maps else None
        photo = self._target(src)
        for path, ids in ((src.input, label), (src.instances, instances)):
            if ids is not None and ids.shape != photo.shape[:2]:
                raise ImageReadError(path, f"size {ids.shape[1]}x{ids.shape[0]} differs from {src.target} "
                                           f"({photo.shape[1]}x{photo.shape[0]})")
        out = apply_seeded(self.transform, self._sample_seed(index), image=photo, mask=stack_ids(label, instances))
        ids = torch.from_numpy(np.ascontiguousarray(_fit(out["mask"], self.size_multiple, src.input))).long()
        item = {"A": ids[None, :, :, 0], "B": to_tensor(_fit(out["image"], self.size_multiple, src.target))}
        if self.instance_maps:
            item["inst"] = ids[None, :, :, 1]
        return item

    def _load_rgb(self, index: int, src: HDSource) -> dict[str, Any]:
        if src.side_by_side:
            ab = self._read(src.input, 3)
            half = ab.shape[1] // 2
            if half == 0:
                raise ImageReadError(src.input, f"too narrow ({ab.shape[1]} px) to hold an A|B pair")
            a = convert_channels(ab[:, :half], self.channels_a)
            b = convert_channels(ab[:, half: 2 * half], self.channels_b)
        else:
            a, b = self._read(src.input, self.channels_a), self._target(src)
            if a.shape[:2] != b.shape[:2]:
                raise ImageReadError(src.target, f"size {b.shape[1]}x{b.shape[0]} differs from {src.input} "
                                                 f"({a.shape[1]}x{a.shape[0]})")
        out = apply_seeded(self.transform, self._sample_seed(index), image=a, image_b=b)
        return {"A": to_tensor(_fit(out["image"], self.size_multiple, src.input)),
                "B": to_tensor(_fit(out["image_b"], self.size_multiple, src.target))}

    def _load(self, index: int) -> dict[str, Any]:
        src = self.sources.items[index]
        item = self._load_label(index, src) if self.input_kind == "label" else self._load_rgb(index, src)
        item.update(A_path=str(src.input), B_path=str(src.target))
        return item
