"""Translate a large image in overlapping tiles and blend them without seams.

Why tiles: a generator's activations grow with the frame, so a 4K frame through a
ResNet-9 can exceed the device's memory even when the weights fit easily. Cutting
the frame into tiles bounds memory by the tile size.

Why overlap and a ramp: pixels near a tile's edge see padding instead of their real
neighbours, so they are the worst pixels of the tile. Neighbouring tiles overlap by
``overlap`` pixels and each tile's weight ramps from ~0 at an inner edge to 1 over
that overlap, so every output pixel is dominated by the tile that sees it with the
most context, and the weights change smoothly (no visible seam). Edges on the
image's own border keep weight 1: there is no better tile for them.

For a fully convolutional network without global statistics (batch norm in eval
mode, or no norm), the result equals whole-frame translation away from the tile
edges once the overlap exceeds the network's effective receptive field. Instance
norm normalises per tile, so tiles of a CycleGAN ResNet differ slightly in tone
from a whole-frame pass; use tiles only where the whole frame does not fit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from translate.errors import InvalidSettingError

TensorFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TileSpec:
    """Square tiles of ``size`` pixels whose neighbours share ``overlap`` pixels."""

    size: int = 512
    overlap: int = 64

    def __post_init__(self) -> None:
        if self.size < 1 or self.overlap < 0:
            raise InvalidSettingError(f"tile size must be >= 1 and overlap >= 0, got {self.size}, {self.overlap}")
        if self.overlap >= self.size:
            raise InvalidSettingError(f"tile overlap ({self.overlap}) must be smaller than the tile ({self.size})")

    def aligned(self, multiple: int) -> "TileSpec":
        """Round the tile up to the network's ``size_multiple`` so tiles need no padding inside."""
        size = -(-self.size // multiple) * multiple
        return TileSpec(size, min(self.overlap, size - 1))


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of tiles covering ``[0, length)``; the last tile ends exactly at ``length``."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _ramp(length: int, overlap: int, rising: bool, falling: bool, device: torch.device) -> torch.Tensor:
    """1-D weights: 1 in the middle, linear ramps over ``overlap`` at the sides that have neighbours."""
    w = torch.ones(length, device=device)
    n = min(overlap, length // 2)
    if n > 0:
        # (i + 0.5) / n never reaches 0, so a pixel covered by one tile only still has weight.
        ramp = (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n
        if rising:
            w[:n] = ramp
        if falling:
            w[length - n:] = ramp.flip(0)
    return w


def translate_tiled(fn: TensorFn, x: torch.Tensor, spec: TileSpec) -> torch.Tensor:
    """Apply ``fn`` (NCHW -> NCHW of the same H and W) to overlapping tiles of ``x`` and blend them.

    ``fn`` sees tiles of at most ``spec.size`` x ``spec.size`` pixels (all frames of the batch at
    once). The result has ``x``'s N, H and W and ``fn``'s channel count, in float32.
    """
    n, _, h, w = x.shape
    th, tw = min(spec.size, h), min(spec.size, w)
    ys, xs = tile_starts(h, th, spec.overlap), tile_starts(w, tw, spec.overlap)
    if len(ys) == 1 and len(xs) == 1:
        return fn(x).float()
    out = weight = None
    for iy, y0 in enumerate(ys):
        wy = _ramp(th, spec.overlap, iy > 0, iy < len(ys) - 1, x.device)
        for ix, x0 in enumerate(xs):
            wx = _ramp(tw, spec.overlap, ix > 0, ix < len(xs) - 1, x.device)
            tile = fn(x[:, :, y0:y0 + th, x0:x0 + tw]).float()
            if out is None:
                out = torch.zeros(n, tile.shape[1], h, w, device=tile.device)
                weight = torch.zeros(1, 1, h, w, device=tile.device)
            mask = (wy[:, None] * wx[None, :]).to(tile.device)
            out[:, :, y0:y0 + th, x0:x0 + tw] += tile * mask
            weight[:, :, y0:y0 + th, x0:x0 + tw] += mask
    return out / weight


TILE_MODES = ("auto", "on", "off")


def _is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text


class TilingNet(nn.Module):
    """Wrap a generator so that each input size is translated whole or in tiles, as ``mode`` says.

    ``auto`` translates whole unless the frame's estimated memory (``translate.apply.memory``)
    exceeds what is available, and still switches a size to tiles if the whole frame runs out
    of memory (a CUDA error can be caught; a Linux OOM kill cannot); ``on`` tiles every input larger than a tile; ``off`` never tiles. The choice is reported
    once per input size through ``on_message``. Being an ``nn.Module`` with the generator's
    ``size_multiple``, it drops into anything that takes a generator (image apply, video frames).
    """

    def __init__(self, net: nn.Module, mode: str = "auto", spec: TileSpec = TileSpec(),
                 trained_size: Optional[int] = None, on_message: Callable[[str], None] = lambda m: None,
                 size_multiple: Optional[int] = None):
        super().__init__()
        if mode not in TILE_MODES:
            raise InvalidSettingError(f"tile mode must be one of {', '.join(TILE_MODES)}, got {mode!r}")
        self.net = net
        self.mode = mode
        self.size_multiple = int(net.size_multiple if size_multiple is None else size_multiple)
        self.spec = spec.aligned(self.size_multiple)
        self.trained_size = trained_size
        self.on_message = on_message
        self._tiled: Dict[Tuple[int, int], bool] = {}
        self._said_whole = False  # a folder of photos has many sizes: say "whole" once, not per size
        self._per_pixel: Optional[float] = None  # activation bytes per pixel, measured once

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (int(x.shape[-2]), int(x.shape[-1]))
        if key not in self._tiled:
            self._tiled[key] = self._decide(key) or self._too_big(x)
        if self._tiled[key]:
            return translate_tiled(self.net, x, self.spec)
        try:
            return self.net(x)
        except RuntimeError as exc:
            if self.mode != "auto" or not _is_out_of_memory(exc):
                raise
        if x.device.type == "cuda":
            torch.cuda.empty_cache()
        self._tiled[key] = True
        self.on_message(f"{key[1]}x{key[0]} frames do not fit in {x.device} memory whole: translating in "
                        f"{self.spec.size} px tiles with {self.spec.overlap} px overlap")
        return translate_tiled(self.net, x, self.spec)

    def bytes_per_pixel(self, in_channels: int, device: torch.device) -> float:
        """Activation bytes per input pixel of a whole pass, measured once on a small probe
        (``translate.apply.memory``); 0.0 when it cannot be measured. Moving the net forgets it."""
        from translate.apply.memory import bytes_per_pixel

        if self._per_pixel is None:
            self._per_pixel = bytes_per_pixel(self.net, in_channels, device, self.size_multiple) or 0.0
        return self._per_pixel

    def _apply(self, fn, *args, **kwargs):  # .to(device) and friends: the estimate was for the old device
        self._per_pixel = None
        return super()._apply(fn, *args, **kwargs)

    def _too_big(self, x: torch.Tensor) -> bool:
        """auto: tile before running when the whole frame would not fit in the memory left."""
        h, w = x.shape[-2:]
        if self.mode != "auto" or max(h, w) <= self.spec.size:
            return False
        from translate.apply.memory import fits

        if not self.bytes_per_pixel(int(x.shape[1]), x.device):
            return False
        ok, needed, free = fits(self._per_pixel, int(h * w * x.shape[0]), x.device)
        if ok:
            return False
        self.on_message(f"{w}x{h} frames need about {needed / 2**30:.1f} GiB whole, {free / 2**30:.1f} GiB is "
                        f"available on {x.device}: translating in {self.spec.size} px tiles with "
                        f"{self.spec.overlap} px overlap")
        return True

    def _decide(self, key: Tuple[int, int]) -> bool:
        h, w = key
        if self.mode == "on" and max(h, w) > self.spec.size:
            self.on_message(f"{w}x{h} inputs: translating in {self.spec.size} px tiles with "
                            f"{self.spec.overlap} px overlap (--tile)")
            return True
        if self.trained_size and max(h, w) > self.trained_size and not self._said_whole:
            self._said_whole = True
            hint = "; tiles only if they do not fit in memory" if self.mode == "auto" else ""
            self.on_message(f"{w}x{h} inputs are larger than the {self.trained_size} px the model was trained on: "
                            f"translating them whole{hint}")
        return False
