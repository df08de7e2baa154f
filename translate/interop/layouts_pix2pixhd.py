"""pix2pixHD's published generator layouts (NVIDIA/pix2pixHD ``GlobalGenerator``, ``LocalEnhancer``).

Written from pix2pixHD's recipe, like the pytorch-CycleGAN-and-pix2pix ones in ``layouts``:

* global: one flat ``model`` Sequential: ``.0`` reflect pad, ``.1`` conv 7x7, ``.2`` norm,
  ``.3`` ReLU; ``n_downsampling`` stride-2 convs at ``4+3i`` (norm after); residual blocks
  (``conv_block`` convs at ``.1``/``.5`` with reflect padding); as many transposed convs,
  each followed by a norm; reflect pad, conv 7x7, tanh. Every conv keeps its bias.
* local: ``model`` is the global generator of width ``ngf * 2**n_enhancers`` without its
  last three modules (pad, conv, tanh); then, coarsest first, ``model{n}_1`` (reflect pad,
  conv 7x7, norm, ReLU, stride-2 conv, norm, ReLU) and ``model{n}_2`` (``n_blocks_local``
  blocks, transposed conv, norm, ReLU; the last one ends with pad, conv 7x7, tanh).

Instance norm has no state; PyTorch < 0.4 (the published label2city model is from 2017) saved
running statistics for it, which are accepted and dropped.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping

from translate.interop.layouts import (LAYOUT_FAMILIES, Layout, Shape, _RESNET_BLOCK_CONVS, _Writer, _conv_shape,
                                       block_padding, resnet_blocks)

PIX2PIXHD = "pix2pixHD"


def _trunk(w: _Writer, in_channels: int, ngf: int, n_downsampling: int, n_blocks: int, padding: str) -> int:
    """Keys of ``model`` up to the last upsampling's norm; returns the next free index."""
    w.conv("model.1", ngf, in_channels, 7, True)
    w.norm_layer("model.2", ngf)
    for i in range(n_downsampling):
        w.conv(f"model.{4 + 3 * i}", ngf * 2 ** (i + 1), ngf * 2**i, 3, True)
        w.norm_layer(f"model.{5 + 3 * i}", ngf * 2 ** (i + 1))
    index = 4 + 3 * n_downsampling
    _blocks(w, "model", index, n_blocks, ngf * 2**n_downsampling, padding)
    index += n_blocks
    for i in range(n_downsampling):
        c = ngf * 2 ** (n_downsampling - i)
        w.conv_transpose(f"model.{index}", c, c // 2, 3, True)
        w.norm_layer(f"model.{index + 1}", c // 2)
        index += 3
    return index


def _blocks(w: _Writer, prefix: str, start: int, n_blocks: int, width: int, padding: str) -> None:
    first, second = _RESNET_BLOCK_CONVS[("zero" if padding == "zero" else "reflect", False)]
    for b in range(start, start + n_blocks):
        for j in (first, second):
            w.conv(f"{prefix}.{b}.conv_block.{j}", width, width, 3, True)
            w.norm_layer(f"{prefix}.{b}.conv_block.{j + 1}", width)


def pix2pixhd_global(in_channels: int = 36, out_channels: int = 3, ngf: int = 64, n_downsampling: int = 4,
                     n_blocks: int = 9, norm: str = "instance", padding: str = "reflect") -> Layout:
    w = _Writer(norm, always_bias=True)
    index = _trunk(w, in_channels, ngf, n_downsampling, n_blocks, padding)
    w.conv(f"model.{index + 1}", out_channels, ngf, 7, True)
    return w.layout(
        family="pix2pixhd-global",
        description=f"{PIX2PIXHD} GlobalGenerator (ngf {ngf}, {n_downsampling} downsamplings, {n_blocks} blocks, "
                    f"{norm} norm, {in_channels}->{out_channels} channels)",
        architecture="pix2pixhd_global", in_channels=in_channels, out_channels=out_channels,
        kwargs={"ngf": ngf, "n_downsampling": n_downsampling, "n_blocks": n_blocks, "norm": norm, "padding": padding},
        translator="pix2pixhd",
    )


def pix2pixhd_local(in_channels: int = 36, out_channels: int = 3, ngf: int = 32, n_downsampling: int = 4,
                    n_blocks: int = 9, n_enhancers: int = 1, n_blocks_local: int = 3, norm: str = "instance",
                    padding: str = "reflect") -> Layout:
    w = _Writer(norm, always_bias=True)
    _trunk(w, in_channels, ngf * 2**n_enhancers, n_downsampling, n_blocks, padding)
    for n in range(1, n_enhancers + 1):
        width = ngf * 2 ** (n_enhancers - n)
        w.conv(f"model{n}_1.1", width, in_channels, 7, True)
        w.norm_layer(f"model{n}_1.2", width)
        w.conv(f"model{n}_1.4", 2 * width, width, 3, True)
        w.norm_layer(f"model{n}_1.5", 2 * width)
        _blocks(w, f"model{n}_2", 0, n_blocks_local, 2 * width, padding)
        w.conv_transpose(f"model{n}_2.{n_blocks_local}", 2 * width, width, 3, True)
        w.norm_layer(f"model{n}_2.{n_blocks_local + 1}", width)
        if n == n_enhancers:
            w.conv(f"model{n}_2.{n_blocks_local + 4}", out_channels, ngf, 7, True)
    return w.layout(
        family="pix2pixhd-local",
        description=f"{PIX2PIXHD} LocalEnhancer (ngf {ngf}, {n_enhancers} enhancer(s) of {n_blocks_local} blocks, "
                    f"global trunk {n_downsampling} downsamplings {n_blocks} blocks, {norm} norm, "
                    f"{in_channels}->{out_channels} channels)",
        architecture="pix2pixhd_local", in_channels=in_channels, out_channels=out_channels,
        kwargs={"ngf": ngf, "n_downsampling": n_downsampling, "n_blocks": n_blocks, "n_enhancers": n_enhancers,
                "n_blocks_local": n_blocks_local, "norm": norm, "padding": padding},
        translator="pix2pixhd",
    )


def _trunk_guess(shapes: Mapping[str, Shape], default_ngf: int) -> Dict[str, Any]:
    stem = _conv_shape(shapes, "model.1.weight")
    blocks = resnet_blocks(shapes, "model")
    n_downsampling = (min(blocks) - 4) // 3 if blocks and min(blocks) >= 4 else 4
    padding, _ = block_padding(blocks)
    return {"ngf": stem[0] if stem else default_ngf, "in_channels": stem[1] if stem else 36,
            "n_downsampling": n_downsampling, "n_blocks": len(blocks) if blocks else 9, "padding": padding,
            "norm": "batch" if "model.2.weight" in shapes else "instance"}


@LAYOUT_FAMILIES.register("pix2pixhd-global")
def _global_candidates(shapes: Mapping[str, Shape]) -> List[Layout]:
    g = _trunk_guess(shapes, 64)
    head = _conv_shape(shapes, f"model.{5 + 6 * g['n_downsampling'] + g['n_blocks']}.weight")
    return [pix2pixhd_global(g["in_channels"], head[0] if head else 3, g["ngf"], g["n_downsampling"], g["n_blocks"],
                             g["norm"], g["padding"])]


@LAYOUT_FAMILIES.register("pix2pixhd-local")
def _local_candidates(shapes: Mapping[str, Shape]) -> List[Layout]:
    enhancers = {int(m.group(1)) for k in shapes for m in [re.match(r"model(\d+)_[12]\.", k)] if m}
    if not enhancers:
        return []  # no enhancer keys at all: certainly not a local enhancer, and the global family covers it
    n_enhancers = max(enhancers)
    g = _trunk_guess(shapes, 64)
    finest = _conv_shape(shapes, f"model{n_enhancers}_1.1.weight")
    ngf = finest[0] if finest else g["ngf"] // 2**n_enhancers
    n_blocks_local = len(resnet_blocks(shapes, "model1_2")) or 3
    head = _conv_shape(shapes, f"model{n_enhancers}_2.{n_blocks_local + 4}.weight")
    return [pix2pixhd_local(g["in_channels"], head[0] if head else 3, ngf, g["n_downsampling"], g["n_blocks"],
                            n_enhancers, n_blocks_local, g["norm"], g["padding"])]
