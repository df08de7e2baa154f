"""Label maps and instance maps: reading, checking, one-hot encoding and instance boundaries.

A label map is a single-channel integer PNG whose pixel values are class ids 0..N-1 (Cityscapes'
``*_labelIds.png``); an instance map gives every object its own id (``*_instanceIds.png``, often
16-bit). Both are read as integers, never as colours: 16-bit values are kept (``read_image``
would scale them to 8 bits), palette PNGs give their palette indices, and an RGB file is accepted
only when its three channels are equal. Label maps must only ever be resized nearest-neighbour,
so ids stay ids.

Encoding (pix2pixHD's ``encode_input``): N one-hot channels, plus one channel that is 1 on
instance boundaries (a pixel whose instance id differs from a 4-neighbour's) when instance maps
are used. Values are 0/1, not [-1, 1].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import torch

from translate.errors import DataError

from .io import MAX_PIXELS, ImageReadError

# Cityscapes names its maps <city>_<seq>_<frame>_gtFine_labelIds.png / ..._instanceIds.png.
_INSTANCE_NAME_SWAPS = (("_labelIds", "_instanceIds"), ("_label", "_inst"))


class LabelError(ImageReadError):
    """A label or instance map that cannot be used: "PATH: reason" on one line."""


def read_label_map(path: str | os.PathLike, max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray:
    """Read an integer map (label or instance ids) as int32 HxW, exactly as stored.

    Uses Pillow, which keeps 16/32-bit values and palette indices. Colour images whose channels
    differ are refused: they are rendered (coloured) label maps, not ids. A map of more than
    ``max_pixels`` pixels is refused from its header, before decoding (as images are).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            width, height = im.size  # the header only: nothing decoded yet
            if max_pixels and width * height > max_pixels:
                raise LabelError(path, f"too large: {width}x{height} = {width * height:,} pixels, over the limit "
                                       f"of {max_pixels:,} (--max-pixels)")
            im.load()
            mode = im.mode
            array = np.asarray(im)
    except LabelError:
        raise
    except FileNotFoundError:
        raise LabelError(path, "no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise LabelError(path, f"not a readable label map ({exc})") from None
    if array.ndim == 3:
        if array.shape[2] == 4:
            array = array[:, :, :3]
        if not (np.array_equal(array[:, :, 0], array[:, :, 1]) and np.array_equal(array[:, :, 0], array[:, :, 2])):
            raise LabelError(path, f"a colour ({mode}) image, not a label map of class ids; save ids as a "
                                   "single-channel PNG")
        array = array[:, :, 0]
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise LabelError(path, f"pixel type {array.dtype} is not integer ids")
    if array.size == 0:
        raise LabelError(path, "empty image")
    return array.astype(np.int32)


def check_label_ids(label: np.ndarray, num_classes: int, path: str | os.PathLike) -> None:
    """Raise LabelError "PATH: label id 37 >= num_classes 35" for an id outside 0..N-1."""
    high, low = int(label.max()), int(label.min())
    if high >= num_classes:
        raise LabelError(path, f"label id {high} >= num_classes {num_classes}")
    if low < 0:
        raise LabelError(path, f"negative label id {low}")


def scan_labels(paths: Iterable[Path], num_classes: Optional[int] = None) -> int:
    """Read every label map once: returns max id + 1 (the inferred N), or checks against ``num_classes``.

    The check happens up front so a bad file stops a run before training, with its name, rather
    than hours later in a data-loading worker.
    """
    highest = -1
    for path in paths:
        label = read_label_map(path)
        if num_classes is not None:
            check_label_ids(label, num_classes, path)
        elif label.min() < 0:
            raise LabelError(path, f"negative label id {int(label.min())}")
        highest = max(highest, int(label.max()))
    if highest < 0:
        raise DataError("no label maps to read")
    return highest + 1


def find_instance_map(label_path: str | os.PathLike) -> Optional[Path]:
    """The instance map paired with a label map by pix2pixHD's conventions, if it exists.

    ``X_label/name.png`` -> ``X_inst/name.png`` (pix2pixHD folders), and Cityscapes'
    ``..._labelIds.png`` -> ``..._instanceIds.png`` in the same folder or the twin folder.
    """
    label_path = Path(label_path)
    folders = [label_path.parent]
    for old, new in _INSTANCE_NAME_SWAPS:
        if label_path.parent.name.endswith(old):
            folders.insert(0, label_path.parent.with_name(label_path.parent.name[: -len(old)] + new))
    names = [label_path.name] + [label_path.name.replace(old, new) for old, new in _INSTANCE_NAME_SWAPS
                                 if old in label_path.stem]
    for folder in folders:
        for name in names:
            candidate = folder / name
            if candidate != label_path and candidate.is_file():
                return candidate
    return None


# --- tensors ---------------------------------------------------------------------------------------


def _as_nchw(ids: torch.Tensor) -> torch.Tensor:
    if ids.dim() == 2:
        ids = ids[None, None]
    elif ids.dim() == 3:
        ids = ids[:, None]
    if ids.dim() != 4 or ids.shape[1] != 1:
        raise ValueError(f"expected ids as HxW, BxHxW or Bx1xHxW, got shape {tuple(ids.shape)}")
    return ids.long()


def one_hot(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class ids (HxW, BxHxW or Bx1xHxW) -> float Bx``num_classes``xHxW of 0/1."""
    label = _as_nchw(label)
    if label.numel() and (int(label.max()) >= num_classes or int(label.min()) < 0):
        raise DataError(f"label id {int(label.max())} >= num_classes {num_classes}"
                         if int(label.max()) >= num_classes else f"negative label id {int(label.min())}")
    out = torch.zeros(label.shape[0], num_classes, *label.shape[2:], device=label.device)
    return out.scatter_(1, label, 1.0)


def instance_edges(instances: torch.Tensor) -> torch.Tensor:
    """1.0 where a pixel's instance id differs from one of its 4 neighbours (both sides marked).

    Input ids HxW, BxHxW or Bx1xHxW; output float Bx1xHxW.
    """
    inst = _as_nchw(instances)
    edge = torch.zeros_like(inst, dtype=torch.bool)
    dx = inst[..., :, 1:] != inst[..., :, :-1]
    dy = inst[..., 1:, :] != inst[..., :-1, :]
    edge[..., :, 1:] |= dx
    edge[..., :, :-1] |= dx
    edge[..., 1:, :] |= dy
    edge[..., :-1, :] |= dy
    return edge.float()


def encode_labels(label: torch.Tensor, num_classes: int, instances: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Network input for a label map: one-hot, plus the instance-boundary channel when given."""
    encoded = one_hot(label, num_classes)
    if instances is None:
        return encoded
    return torch.cat([encoded, instance_edges(instances).to(encoded.device)], dim=1)


def input_channels(num_classes: int, instance_maps: bool) -> int:
    return num_classes + int(instance_maps)


def colorize(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class ids -> Bx3xHxW colours in [-1, 1] for looking at (a fixed, well-spread palette)."""
    label = _as_nchw(label).clamp_(0, max(num_classes - 1, 0))
    ids = torch.arange(max(num_classes, 1), device=label.device)
    # Golden-ratio hues keep neighbouring ids far apart in colour.
    hue = (ids.float() * 0.618034) % 1.0
    palette = torch.stack([_hue_channel(hue, shift) for shift in (0.0, 2 / 3, 1 / 3)], dim=1)
    palette[0] = 0.0  # id 0 (unlabelled in Cityscapes) stays black
    return palette[label[:, 0]].permute(0, 3, 1, 2) * 2 - 1


def _hue_channel(hue: torch.Tensor, shift: float) -> torch.Tensor:
    return (torch.cos(2 * np.pi * (hue + shift)) * 0.4 + 0.55).clamp(0, 1)


def stack_ids(label: np.ndarray, instances: Optional[np.ndarray]) -> np.ndarray:
    """HxW label (+ HxW instances) -> HxWxC int32, one array so one transform moves both alike."""
    planes: Sequence[np.ndarray] = [label] if instances is None else [label, instances]
    return np.stack(planes, axis=-1).astype(np.int32)
