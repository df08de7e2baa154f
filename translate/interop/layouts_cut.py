"""CUT's published generator layout (taesungp/contrastive-unpaired-translation ``ResnetGenerator``).

Written from CUT's recipe, like the pytorch-CycleGAN-and-pix2pix ones in ``layouts``. CUT and
FastCUT save the same generator (``latest_net_G.pth``); they differ only in their losses. It is
CycleGAN's ResNet with anti-aliased sampling (Zhang 2019), on by default (``--no_antialias`` and
``--no_antialias_up`` switch each side off), in one flat ``model`` Sequential:

* ``.0`` reflect pad, ``.1`` conv 7x7, ``.2`` norm, ``.3`` ReLU;
* two down stages from ``.4``: anti-aliased, conv 3x3 stride 1, norm, ReLU, ``Downsample``
  (4 modules, convs at ``.4``/``.8``); plain, conv 3x3 stride 2, norm, ReLU (3 modules);
* the residual blocks (``conv_block`` as CycleGAN's): ``.12`` .. ``.11+n`` when anti-aliased;
* two up stages: anti-aliased, ``Upsample``, conv 3x3 stride 1, norm, ReLU (4 modules);
  plain, transposed conv, norm, ReLU (3 modules);
* reflect pad, conv 7x7 with bias, tanh. With 9 blocks and both sides anti-aliased the head
  conv is ``.30``.

``Downsample`` and ``Upsample`` hold their fixed binomial filter as a saved buffer ``filt`` of
shape (C, 1, k, k): ``[1,2,1]x[1,2,1]/16`` down, ``[1,3,3,1]x[1,3,3,1]/64 * 4`` up (times
stride**2, so upsampling keeps the mean). The file must have them; the import checks their
values and drops them, since the toolkit's blur modules keep the same filters unsaved.
"""
from __future__ import annotations

from typing import List, Mapping, Tuple

from translate.interop.layouts import (LAYOUT_FAMILIES, Layout, Shape, _conv_shape, _Writer, block_padding,
                                       resnet_architecture, resnet_blocks)

CUT = "contrastive-unpaired-translation"


def _binomial(row: Tuple[int, ...], gain: float) -> Tuple[Tuple[float, ...], ...]:
    """``gain * outer(row, row) / sum(row)**2``, CUT's ``get_filter`` scaled as its modules scale it."""
    total = float(sum(row)) ** 2
    return tuple(tuple(gain * a * b / total for b in row) for a in row)


DOWN_FILTER = _binomial((1, 2, 1), 1.0)
UP_FILTER = _binomial((1, 3, 3, 1), 4.0)


def cut_resnet(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
               norm: str = "instance", dropout: bool = False, padding: str = "reflect",
               antialias_down: bool = True, antialias_up: bool = True) -> Layout:
    w = _Writer(norm)
    w.conv("model.1", ngf, in_channels, 7, w.bias)
    w.norm_layer("model.2", ngf)
    index = 4
    for i in range(2):
        c = ngf * 2 ** (i + 1)
        w.conv(f"model.{index}", c, c // 2, 3, w.bias)
        w.norm_layer(f"model.{index + 1}", c)
        if antialias_down:
            w.depthwise_constant(f"model.{index + 3}", c, DOWN_FILTER)
        index += 4 if antialias_down else 3
    w.residual_blocks("model", index, n_blocks, 4 * ngf, padding, dropout)
    index += n_blocks
    for i in range(2):
        c = ngf * 2 ** (2 - i)
        if antialias_up:
            w.depthwise_constant(f"model.{index}", c, UP_FILTER)
            w.conv(f"model.{index + 1}", c // 2, c, 3, w.bias)
            w.norm_layer(f"model.{index + 2}", c // 2)
            index += 4
        else:
            w.conv_transpose(f"model.{index}", c, c // 2, 3, w.bias)
            w.norm_layer(f"model.{index + 1}", c // 2)
            index += 3
    w.conv(f"model.{index + 1}", out_channels, ngf, 7, True)

    architecture, kwargs = resnet_architecture(n_blocks, ngf=ngf, norm=norm, dropout=dropout, padding=padding,
                                               downsample="antialias" if antialias_down else "stride",
                                               upsample="antialias" if antialias_up else "transpose")
    sampling = {(True, True): "anti-aliased sampling", (True, False): "anti-aliased downsampling",
                (False, True): "anti-aliased upsampling", (False, False): "strided sampling"}
    extra = ", dropout" if dropout else ""
    return w.layout(
        family="cut-resnet",
        description=f"{CUT} ResnetGenerator ({n_blocks} blocks, ngf {ngf}, {norm} norm, {padding} padding{extra}, "
                    f"{sampling[antialias_down, antialias_up]}, {in_channels}->{out_channels} channels)",
        architecture=architecture, in_channels=in_channels, out_channels=out_channels,
        kwargs=kwargs, translator="cut",
    )


@LAYOUT_FAMILIES.register("cut-resnet")
def _cut_candidates(shapes: Mapping[str, Shape]) -> List[Layout]:
    """Widths from the first conv, blocks and their padding as for CycleGAN's ResNet. An
    anti-aliased down stage leaves ``model.7`` (its ``Downsample``) with a filter and no
    weight; an anti-aliased up stage does the same at the first index after the blocks.
    Defaults (the published CUT: both anti-aliased, 9 blocks) fill in what is missing."""
    stem = _conv_shape(shapes, "model.1.weight")
    ngf, in_channels = (stem[0], stem[1]) if stem else (64, 3)
    norm = "batch" if "model.2.weight" in shapes else "instance"
    blocks = resnet_blocks(shapes, "model")
    n_blocks = len(blocks) if blocks else 9
    padding, dropout = block_padding(blocks)
    antialias_down = "model.7.weight" not in shapes
    first_up = (12 if antialias_down else 10) + n_blocks
    antialias_up = f"model.{first_up}.weight" not in shapes
    head = _conv_shape(shapes, f"model.{first_up + (9 if antialias_up else 7)}.weight")
    out_channels = head[0] if head else 3
    return [cut_resnet(in_channels, out_channels, ngf, n_blocks, norm, dropout, padding, antialias_down,
                       antialias_up)]
