"""Independent statements of published generator layouts, and a recogniser for them.

A *layout* is what a published weights file looks like: every key, its shape, in the
order the network's forward pass meets them. The layouts here are written from the
published recipes (pytorch-CycleGAN-and-pix2pix's ``ResnetGenerator`` and
``UnetGenerator``), not derived from the toolkit's modules, so the two can be checked
against each other; import then maps keys by position (``translate.interop.reference``).

Recognition uses keys and shapes only, never code from the file: each layout family
guesses its parameters (widths, depth, norm, padding) from a few anchor keys, states
the layout those parameters imply and compares it with the file. An exact match wins;
otherwise ``LayoutError`` names the closest layout and the keys that differ. A new
family (pix2pixHD, ...) is one more function registered in ``LAYOUT_FAMILIES``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from translate.interop.errors import LayoutError
from translate.registry import Registry

Shape = Tuple[int, ...]
REFERENCE = "pytorch-CycleGAN-and-pix2pix"

# Buffers (not parameters) in a state dict; they do not count towards parameter totals.
_BUFFER_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")


@dataclass(frozen=True, eq=False)
class Layout:
    """One concrete published layout and the toolkit generator that has the same weights."""

    family: str
    description: str
    architecture: str  # toolkit generator name, with ``kwargs`` it rebuilds the network
    in_channels: int
    out_channels: int
    kwargs: Dict[str, Any]
    translator: str  # what such a network usually is (pix2pix, cyclegan); metadata only
    keys: Dict[str, Shape]  # every key in forward order, optional ones included
    optional: FrozenSet[str] = frozenset()  # may be absent (pre-0.4 batch norm had no num_batches_tracked)
    legacy: FrozenSet[str] = frozenset()  # may be present and are dropped (old InstanceNorm running stats)
    # Fixed filters the file must hold (they are in ``keys``) but no learned weight of ours matches:
    # key -> the values every channel's kernel holds, row by row; checked, then dropped (CUT's ``filt``).
    constants: Dict[str, Tuple[float, ...]] = field(default_factory=dict)

    @property
    def parameters(self) -> int:
        return sum(math.prod(s) for k, s in self.keys.items()
                   if not k.endswith(_BUFFER_SUFFIXES) and k not in self.constants)


class _Writer:
    """Accumulates keys in forward order with the conventions shared by the reference networks."""

    def __init__(self, norm: str, always_bias: bool = False):
        if norm not in ("batch", "instance"):
            raise ValueError(f"reference layouts have batch or instance norm, not {norm!r}")
        self.norm = norm
        self.always_bias = always_bias
        self.keys: Dict[str, Shape] = {}
        self.optional: set = set()
        self.legacy: set = set()
        self.constants: Dict[str, Tuple[float, ...]] = {}

    @property
    def bias(self) -> bool:
        # pytorch-CycleGAN-and-pix2pix drops conv biases before batch norm (the norm's mean
        # cancels them); pix2pixHD keeps them everywhere.
        return self.always_bias or self.norm != "batch"

    def conv(self, prefix: str, cout: int, cin: int, k: int, bias: bool) -> None:
        self.keys[f"{prefix}.weight"] = (cout, cin, k, k)
        if bias:
            self.keys[f"{prefix}.bias"] = (cout,)

    def conv_transpose(self, prefix: str, cin: int, cout: int, k: int, bias: bool) -> None:
        self.keys[f"{prefix}.weight"] = (cin, cout, k, k)  # ConvTranspose2d stores (in, out, k, k)
        if bias:
            self.keys[f"{prefix}.bias"] = (cout,)

    def norm_layer(self, prefix: str, channels: int) -> None:
        stats = [f"{prefix}.running_mean", f"{prefix}.running_var"]
        if self.norm == "batch":
            for name in [f"{prefix}.weight", f"{prefix}.bias"] + stats:
                self.keys[name] = (channels,)
            self.keys[f"{prefix}.num_batches_tracked"] = ()
            self.optional.add(f"{prefix}.num_batches_tracked")
        else:
            # InstanceNorm(affine=False) has no state now; PyTorch < 0.4 saved running stats for it.
            self.legacy.update(stats + [f"{prefix}.num_batches_tracked"])

    def depthwise_constant(self, prefix: str, channels: int, kernel: Tuple[Tuple[float, ...], ...]) -> None:
        """A fixed per-channel filter saved as a buffer ``{prefix}.filt`` of shape (C, 1, k, k)."""
        key = f"{prefix}.filt"
        self.keys[key] = (channels, 1, len(kernel), len(kernel[0]))
        self.constants[key] = tuple(v for row in kernel for v in row)

    def residual_blocks(self, prefix: str, start: int, n_blocks: int, width: int, padding: str,
                        dropout: bool) -> None:
        """``n_blocks`` ResnetBlocks at ``{prefix}.{start}`` on: two convs each, where padding and
        dropout put them in ``conv_block`` (the same in the CycleGAN and CUT generators)."""
        first, second = _RESNET_BLOCK_CONVS[("zero" if padding == "zero" else "reflect", dropout)]
        for b in range(start, start + n_blocks):
            for j in (first, second):
                self.conv(f"{prefix}.{b}.conv_block.{j}", width, width, 3, self.bias)
                self.norm_layer(f"{prefix}.{b}.conv_block.{j + 1}", width)

    def layout(self, **fields: Any) -> Layout:
        return Layout(keys=dict(self.keys), optional=frozenset(self.optional), legacy=frozenset(self.legacy),
                      constants=dict(self.constants), **fields)


# --------------------------------------------------------------------------- statements


# Indices of the two convs inside a reference ResnetBlock's ``conv_block`` Sequential: a
# padding module (reflect/replicate) and a dropout module each shift what follows.
_RESNET_BLOCK_CONVS: Dict[Tuple[str, bool], Tuple[int, int]] = {
    ("reflect", False): (1, 5),
    ("reflect", True): (1, 6),
    ("zero", False): (0, 3),
    ("zero", True): (0, 4),
}
_RESNET_PRESETS = {9: "resnet_9blocks", 6: "resnet_6blocks"}
_UNET_PRESETS = {8: "unet_256", 7: "unet_128"}


def reference_resnet(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                     norm: str = "instance", dropout: bool = False, padding: str = "reflect") -> Layout:
    """The reference ``ResnetGenerator``: one flat ``model`` Sequential.

    ``model.0`` reflect pad, ``.1`` conv 7x7, ``.2`` norm, ``.3`` ReLU; two stride-2 convs at
    ``.4``/``.7`` (norm ``.5``/``.8``); blocks at ``.10`` .. ``.9+n_blocks`` (``conv_block``
    convs at the indices above, norms right after each); transposed convs at ``10+n`` and
    ``13+n`` (norms after); reflect pad, final conv 7x7 with bias at ``17+n``; tanh.
    """
    w = _Writer(norm)
    w.conv("model.1", ngf, in_channels, 7, w.bias)
    w.norm_layer("model.2", ngf)
    for i in range(2):
        w.conv(f"model.{4 + 3 * i}", ngf * 2 ** (i + 1), ngf * 2**i, 3, w.bias)
        w.norm_layer(f"model.{5 + 3 * i}", ngf * 2 ** (i + 1))
    w.residual_blocks("model", 10, n_blocks, 4 * ngf, padding, dropout)
    up = 10 + n_blocks
    for i in range(2):
        cin = ngf * 2 ** (2 - i)
        w.conv_transpose(f"model.{up + 3 * i}", cin, cin // 2, 3, w.bias)
        w.norm_layer(f"model.{up + 3 * i + 1}", cin // 2)
    w.conv(f"model.{up + 7}", out_channels, ngf, 7, True)

    architecture, kwargs = resnet_architecture(n_blocks, ngf=ngf, norm=norm, dropout=dropout, padding=padding)
    extra = ", dropout" if dropout else ""
    return w.layout(
        family="reference-resnet",
        description=f"{REFERENCE} ResnetGenerator ({n_blocks} blocks, ngf {ngf}, {norm} norm, "
                    f"{padding} padding{extra}, {in_channels}->{out_channels} channels)",
        architecture=architecture, in_channels=in_channels, out_channels=out_channels,
        kwargs=kwargs, translator="cyclegan",
    )


def resnet_architecture(n_blocks: int, **options: Any) -> Tuple[str, Dict[str, Any]]:
    """(architecture, kwargs) of a ResNet generator with ``n_blocks``: the preset of that depth
    (resnet_6blocks, resnet_9blocks) where there is one, else ``resnet`` with n_blocks in kwargs."""
    preset = _RESNET_PRESETS.get(n_blocks)
    return (preset, dict(options)) if preset else ("resnet", {**options, "n_blocks": n_blocks})


def _unet_prefix(level: int) -> str:
    # Level 0's block is ``model`` (its Sequential ``model.model``); the submodule sits at
    # index 1 of the outermost Sequential and at index 3 of every middle one.
    prefix = "model.model"
    for i in range(level):
        prefix += ".1.model" if i == 0 else ".3.model"
    return prefix


def reference_unet(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, num_downs: int = 8,
                   norm: str = "batch", dropout: bool = True) -> Layout:
    """The reference ``UnetGenerator``: ``num_downs`` nested ``UnetSkipConnectionBlock``s.

    Level ``i`` (0 = outermost) has ``ngf * min(2**i, 8)`` inner channels. Outermost:
    ``.0`` down conv, ``.1`` submodule, ``.3`` transposed conv (always with bias). Middle:
    ``.1`` down conv, ``.2`` norm, ``.3`` submodule, ``.5`` transposed conv, ``.6`` norm
    (dropout, when on, is a parameter-free ``.7``). Innermost: ``.1`` down conv, ``.3``
    transposed conv, ``.4`` norm. Every conv is 4x4 with stride 2.
    """
    if num_downs < 5:
        raise ValueError("the reference U-Net has at least 5 levels")
    w = _Writer(norm)
    widths = [ngf * min(2**i, 8) for i in range(num_downs)]

    def level(i: int) -> None:
        p = _unet_prefix(i)
        outer = out_channels if i == 0 else widths[i - 1]
        inner, cin = widths[i], (in_channels if i == 0 else outer)
        if i == 0:
            w.conv(f"{p}.0", inner, cin, 4, w.bias)
            level(1)
            w.conv_transpose(f"{p}.3", 2 * inner, outer, 4, True)
        elif i == num_downs - 1:
            w.conv(f"{p}.1", inner, cin, 4, w.bias)
            w.conv_transpose(f"{p}.3", inner, outer, 4, w.bias)
            w.norm_layer(f"{p}.4", outer)
        else:
            w.conv(f"{p}.1", inner, cin, 4, w.bias)
            w.norm_layer(f"{p}.2", inner)
            level(i + 1)
            w.conv_transpose(f"{p}.5", 2 * inner, outer, 4, w.bias)
            w.norm_layer(f"{p}.6", outer)

    level(0)
    preset = _UNET_PRESETS.get(num_downs)
    kwargs: Dict[str, Any] = {"ngf": ngf, "norm": norm, "dropout": dropout}
    if preset is None:
        kwargs["num_downs"] = num_downs
    return w.layout(
        family="reference-unet",
        description=f"{REFERENCE} UnetGenerator ({num_downs} levels, ngf {ngf}, {norm} norm, "
                    f"{in_channels}->{out_channels} channels)",
        architecture=preset or "unet", in_channels=in_channels, out_channels=out_channels,
        kwargs=kwargs, translator="pix2pix" if norm == "batch" else "cyclegan",
    )


# --------------------------------------------------------------------------- recognition

# name -> candidates(shapes) -> [Layout]: the family's best guesses for a file.
# The other code bases' families (pix2pixHD, CUT) live in their own modules, which
# ``layout_families`` imports on the first lookup.
LAYOUT_FAMILIES = Registry("layout family", discover="translate.interop.layout_families")
# When two families state identical keys and shapes (a pix2pixHD global generator with two
# downsamplings *is* a CycleGAN ResNet, and so is a CUT generator trained without anti-aliasing),
# the same network is named after the earlier family.
_PREFERENCE = ("reference-resnet", "reference-unet", "pix2pixhd-global", "pix2pixhd-local", "cut-resnet")


def _conv_shape(shapes: Mapping[str, Shape], key: str) -> Optional[Shape]:
    shape = shapes.get(key)
    return shape if shape is not None and len(shape) == 4 else None


def resnet_blocks(shapes: Mapping[str, Shape], prefix: str) -> Dict[int, set]:
    """{index of a residual block in ``prefix``'s Sequential: indices of its convs}."""
    pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.conv_block\.(\d+)\.weight$")
    blocks: Dict[int, set] = {}
    for key, shape in shapes.items():
        m = pattern.match(key)
        if m and len(shape) == 4:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    return blocks


def block_padding(blocks: Dict[int, set]) -> Tuple[str, bool]:
    """(padding, dropout) from where a block's two convs sit; reflect and replicate look alike."""
    convs = tuple(sorted(blocks[min(blocks)])) if blocks else (1, 5)
    by_convs = {v: k for k, v in _RESNET_BLOCK_CONVS.items()}
    return by_convs.get(convs, ("reflect", False))


@LAYOUT_FAMILIES.register("reference-resnet")
def _resnet_candidates(shapes: Mapping[str, Shape]) -> List[Layout]:
    """Widths from the first and last convs, block count from ``conv_block`` keys, padding and
    dropout from where a block's convs sit; defaults (the published CycleGAN) fill the rest."""
    stem = _conv_shape(shapes, "model.1.weight")
    ngf, in_channels = (stem[0], stem[1]) if stem else (64, 3)
    norm = "batch" if "model.2.weight" in shapes else "instance"
    blocks = resnet_blocks(shapes, "model")
    n_blocks = len(blocks) if blocks else 9
    padding, dropout = block_padding(blocks)
    head = _conv_shape(shapes, f"model.{17 + n_blocks}.weight")
    out_channels = head[0] if head else 3
    return [reference_resnet(in_channels, out_channels, ngf, n_blocks, norm, dropout, padding)]


@LAYOUT_FAMILIES.register("reference-unet")
def _unet_candidates(shapes: Mapping[str, Shape]) -> List[Layout]:
    """Widths from the outermost convs, depth from how deep the nested keys go, norm from
    whether the second level has norm weights. Dropout leaves no trace in a state dict: it
    is assumed where the reference's defaults put it (pix2pix, i.e. batch norm)."""
    outer = _conv_shape(shapes, "model.model.0.weight")
    ngf, in_channels = (outer[0], outer[1]) if outer else (64, 3)
    up = _conv_shape(shapes, "model.model.3.weight")
    out_channels = up[1] if up else 3
    levels = 1
    while any(k.startswith(_unet_prefix(levels) + ".") for k in shapes):
        levels += 1
    norm = "batch" if f"{_unet_prefix(1)}.2.weight" in shapes else "instance"
    return [reference_unet(in_channels, out_channels, ngf, max(levels, 5), norm, dropout=norm == "batch")]


@dataclass
class Comparison:
    """How a file's keys and shapes differ from one layout."""

    layout: Layout
    matched: int = 0
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    wrong_shape: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_shape)

    @property
    def score(self) -> float:
        required = len(self.layout.keys) - len(self.layout.optional)
        return self.matched / max(1, required + len(self.unexpected))

    def describe(self, limit: int = 4) -> str:
        parts = []
        for label, items in (("missing", self.missing), ("unexpected", self.unexpected),
                             ("wrong shape", self.wrong_shape)):
            if items:
                more = f" and {len(items) - limit} more" if len(items) > limit else ""
                parts.append(f"{label}: {', '.join(items[:limit])}{more}")
        return "; ".join(parts)


def compare(shapes: Mapping[str, Shape], layout: Layout) -> Comparison:
    result = Comparison(layout)
    for key, expected in layout.keys.items():
        if key not in shapes:
            if key not in layout.optional:
                result.missing.append(key)
        elif tuple(shapes[key]) != tuple(expected):
            result.wrong_shape.append(f"{key} {tuple(shapes[key])} (expected {tuple(expected)})")
        else:
            result.matched += 1
    result.unexpected = [k for k in shapes if k not in layout.keys and k not in layout.legacy]
    return result


def recognise(shapes: Mapping[str, Shape], where: str = "state dict") -> Layout:
    """The layout that ``shapes`` (key -> tensor shape) matches exactly, or ``LayoutError``."""
    order = sorted(LAYOUT_FAMILIES.names(), key=lambda n: (_PREFERENCE + (n,)).index(n))
    comparisons = [compare(shapes, layout) for name in order for layout in LAYOUT_FAMILIES.get(name)(shapes)]
    for comparison in comparisons:
        if comparison.ok:
            return comparison.layout
    best = max(comparisons, key=lambda c: c.score)
    required = len(best.layout.keys) - len(best.layout.optional)
    raise LayoutError(
        f"{where}: matches no known generator layout; closest is {best.layout.description} "
        f"({best.matched} of {required} keys match; {best.describe()})"
    )

