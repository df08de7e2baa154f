"""Translate image files with a trained generator.

Any image size works: each image is padded (reflect) up to the generator's
``size_multiple``, translated, and cropped back, so outputs have the input's size
(or ``size`` on the long side when asked). Images of the same size are batched.
Reading runs in a background thread so decoding overlaps the network. A file that
cannot be read or written is reported and skipped; the others still go through.
"""
from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Protocol, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from translate.data import ImageReadError, to_image, write_image
from translate.data.io import MAX_PIXELS
from translate.devices import autocast
from translate.errors import TranslateError


@dataclass
class ApplyReport:
    written: List[Path] = field(default_factory=list)
    failed: List[Tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class ApplyError(TranslateError, ValueError):
    """Bad arguments to apply (paths), one line for the user."""


def pad_to_multiple(x: torch.Tensor, multiple: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Pad NCHW ``x`` on the bottom/right so H and W divide by ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        # Reflect needs the pad to be smaller than the side; tiny images fall back to replicate.
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


@torch.inference_mode()
def translate_tensor(net: nn.Module, x: torch.Tensor, multiple: int, dtype: Optional[torch.dtype]) -> torch.Tensor:
    """NCHW in [-1,1] on the net's device -> NCHW in [-1,1], same H and W, float32."""
    padded, (h, w) = pad_to_multiple(x, multiple)
    with autocast(x.device, dtype):
        y = net(padded)
    return y[..., :h, :w].float()


class ImageModel(Protocol):
    """What the image batch needs of a model (``translate.apply.model.Model`` is one): read a file
    as its encoder does, stack same-size arrays into a batch, run the batch."""

    def read(self, path: Path, size: Optional[int] = None, max_pixels: Optional[int] = None) -> np.ndarray: ...

    def to_batch(self, arrays: Sequence[np.ndarray]) -> torch.Tensor: ...

    def run(self, x: torch.Tensor) -> torch.Tensor: ...


def _read(src: Path, model: ImageModel, size: Optional[int], max_pixels: Optional[int]):
    try:
        image = model.read(src, size, max_pixels)  # resizes too: label maps nearest-neighbour only
    except ImageReadError as exc:
        return src, None, str(exc)
    return src, image, None


def apply_to_images(model: ImageModel, pairs: Sequence[Tuple[Path, Path]], batch_size: int = 4,
                    size: Optional[int] = None, progress: bool = True,
                    max_pixels: Optional[int] = MAX_PIXELS) -> ApplyReport:
    """Translate each (source, destination) pair; same-size images are batched, files read ahead
    in a thread. The model decides how files are read (RGB images or label maps); images over
    ``max_pixels`` are refused from their header, before decoding."""
    destination = dict(pairs)
    report = ApplyReport()
    bar = tqdm(total=len(pairs), desc="apply", unit="img", disable=not progress, dynamic_ncols=True)

    def flush(group: List[Tuple[Path, np.ndarray]]) -> None:
        if not group:
            return
        try:
            y = model.run(model.to_batch([image for _, image in group])).cpu()
        except (RuntimeError, ValueError) as exc:
            # A group holds images of one size, so what one cannot do none can (a 1x1 image under
            # instance norm, say): list them and go on with the rest of the folder.
            h, w = group[0][1].shape[:2]
            reason = " ".join(str(exc).split()[:30])
            if "spatial element" in reason or "padding size" in reason.lower():
                reason = f"too small for this model ({reason})"
            report.failed += [(src, f"{src}: cannot translate this {w}x{h} image: {reason}") for src, _ in group]
            bar.update(len(group))
            return
        for (src, _), out in zip(group, y):
            dst = destination[src]
            try:
                write_image(dst, to_image(out))
                report.written.append(dst)
            except (OSError, ValueError, cv2.error) as exc:
                report.failed.append((src, f"{dst}: cannot write ({exc})"))
        bar.update(len(group))

    group: List[Tuple[Path, np.ndarray]] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for src, image, error in _prefetch(pool, pairs, model, size, max_pixels, depth=2 * batch_size + 2):
            if error is not None:
                report.failed.append((src, error))
                bar.update(1)
                continue
            if group and (group[0][1].shape != image.shape or len(group) >= batch_size):
                flush(group)
                group = []
            group.append((src, image))
        flush(group)
    bar.close()
    return report


def _prefetch(pool, pairs, model, size, max_pixels, depth) -> Iterator[tuple]:
    """Read images ahead in ``pool`` while keeping at most ``depth`` decoded in memory."""
    pending: List[concurrent.futures.Future] = []
    sources: Iterable[Path] = (src for src, _ in pairs)
    for src in sources:
        pending.append(pool.submit(_read, src, model, size, max_pixels))
        if len(pending) >= depth:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()
