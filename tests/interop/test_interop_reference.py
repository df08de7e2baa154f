"""Import of pytorch-CycleGAN-and-pix2pix state dicts.

The reference networks are restated here, independently of translate.interop.layouts, as
op lists in their published module order: the position of an op in its nn.Sequential is
its key (``model.N``), exactly as the reference's state dicts name weights. One small
interpreter runs an op list forward with torch.nn.functional; the toolkit must load the
same random weights and give the same outputs.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.checkpoint import CheckpointError, GeneratorSpec
from translate.interop.loading import load_generator
from translate.interop.errors import LayoutError
from translate.interop.layouts import recognise
from translate.interop.reference import import_state_dict, reference_test_mode

torch.set_num_threads(1)

# --------------------------------------------------------------------------- the statement
# Ops: ("conv", cin, cout, k, stride, pad, bias), ("convT", cin, cout, k, stride, pad, outpad, bias),
# ("norm", c), ("pad", n) (reflection), ("relu",), ("lrelu",), ("tanh",), ("dropout",),
# ("res", ops) (x + ops(x), children under .conv_block), ("block", outermost, ops) (U-Net level,
# children under .model); ("blurdown", c) and ("blurup", c): CUT's Downsample and Upsample
# (tests/interop/test_interop_cut.py), each a ``filt`` buffer run as CUT's code runs it.


def resnet_ops(cin, cout, ngf, n_blocks, norm, dropout=False, padding="reflect"):
    bias = norm == "instance"
    ops = [("pad", 3), ("conv", cin, ngf, 7, 1, 0, bias), ("norm", ngf), ("relu",)]
    for i in range(2):
        ops += [("conv", ngf * 2**i, ngf * 2 ** (i + 1), 3, 2, 1, bias), ("norm", ngf * 2 ** (i + 1)), ("relu",)]
    dim, p = 4 * ngf, (0 if padding == "reflect" else 1)
    for _ in range(n_blocks):
        half = ([("pad", 1)] if padding == "reflect" else []) + [("conv", dim, dim, 3, 1, p, bias), ("norm", dim)]
        ops.append(("res", half + [("relu",)] + ([("dropout",)] if dropout else []) + half))
    for i in range(2):
        c = ngf * 2 ** (2 - i)
        ops += [("convT", c, c // 2, 3, 2, 1, 1, bias), ("norm", c // 2), ("relu",)]
    return ops + [("pad", 3), ("conv", ngf, cout, 7, 1, 0, True), ("tanh",)]


def unet_ops(cin, cout, ngf, num_downs, norm, dropout=False):
    """Built innermost-out as the reference builds it: (8,8) innermost, num_downs-5 (8,8)
    middles, then (4,8), (2,4), (1,2) and the outermost (out, 1)."""
    bias = norm == "instance"

    def block(outer, inner, sub=None, innermost=False, use_dropout=False):
        down = [("lrelu",), ("conv", outer, inner, 4, 2, 1, bias)]
        if innermost:
            return ("block", False, down + [("relu",), ("convT", inner, outer, 4, 2, 1, 0, bias), ("norm", outer)])
        ops = down + [("norm", inner), sub, ("relu",), ("convT", 2 * inner, outer, 4, 2, 1, 0, bias), ("norm", outer)]
        return ("block", False, ops + ([("dropout",)] if use_dropout else []))

    b = block(8 * ngf, 8 * ngf, innermost=True)
    for _ in range(num_downs - 5):
        b = block(8 * ngf, 8 * ngf, b, use_dropout=dropout)
    for mult in (4, 2, 1):
        b = block(mult * ngf, 2 * mult * ngf, b)
    # UnetGenerator.model *is* the outermost level, so its Sequential is ``model.model``.
    return [("conv", cin, ngf, 4, 2, 1, bias), b, ("relu",), ("convT", 2 * ngf, cout, 4, 2, 1, 0, True), ("tanh",)]


RESNET_PREFIX, UNET_PREFIX = "model", "model.model"


def _children(op):
    return {"res": ("conv_block", op[1]) if op[0] == "res" else None,
            "block": ("model", op[2]) if op[0] == "block" else None}.get(op[0])


def make_state(ops, prefix="model", norm="batch", make=None, out=None):
    """Random reference state dict in forward (registration) order."""
    out = {} if out is None else out
    make = make or (lambda shape, kind: _random(shape, kind))
    for i, op in enumerate(ops):
        key = f"{prefix}.{i}"
        kind = op[0]
        if kind == "conv":
            _, cin, cout, k, _, _, bias = op
            out[f"{key}.weight"] = make((cout, cin, k, k), "w")
            if bias:
                out[f"{key}.bias"] = make((cout,), "b")
        elif kind == "convT":
            _, cin, cout, k, _, _, _, bias = op
            out[f"{key}.weight"] = make((cin, cout, k, k), "w")
            if bias:
                out[f"{key}.bias"] = make((cout,), "b")
        elif kind == "norm" and norm == "batch":
            c = op[1]
            for name, k in (("weight", "gamma"), ("bias", "b"), ("running_mean", "b"), ("running_var", "var")):
                out[f"{key}.{name}"] = make((c,), k)
            out[f"{key}.num_batches_tracked"] = make((), "count")
        elif kind == "blurdown":
            out[f"{key}.filt"] = _cut_filter([1., 2., 1.], op[1])
        elif kind == "blurup":
            out[f"{key}.filt"] = _cut_filter([1., 3., 3., 1.], op[1])
        elif kind in ("res", "block"):
            child, sub = _children(op)
            make_state(sub, f"{key}.{child}", norm, make, out)
    return out


def _cut_filter(row, channels):
    """CUT's get_filter: outer(row, row) / its sum, one copy per channel; Upsample scales by stride**2."""
    a = torch.tensor(row, dtype=torch.float32)
    f = torch.outer(a, a) / torch.outer(a, a).sum() * (4 if len(row) == 4 else 1)
    return f[None, None].repeat(channels, 1, 1, 1)


def _random(shape, kind):
    if kind == "w":
        return torch.randn(shape) / math.sqrt(math.prod(shape[1:]) if len(shape) > 1 else 1)
    if kind == "gamma":
        return 1 + 0.1 * torch.randn(shape)
    if kind == "var":
        return 0.5 + torch.rand(shape)
    if kind == "count":
        return torch.tensor(7)
    return 0.1 * torch.randn(shape)


def run(ops, sd, x, prefix="model", norm="batch", bn_batch_stats=False, first=0):
    """The reference forward pass from op ``first`` on. A U-Net level's op 0 is the
    reference's in-place LeakyReLU, so the skip it concatenates is the activated input."""
    for i, op in enumerate(ops):
        if i < first:
            continue
        key, kind = f"{prefix}.{i}", op[0]
        if kind == "conv":
            x = F.conv2d(x, sd[f"{key}.weight"], sd.get(f"{key}.bias"), stride=op[4], padding=op[5])
        elif kind == "convT":
            x = F.conv_transpose2d(x, sd[f"{key}.weight"], sd.get(f"{key}.bias"), stride=op[4], padding=op[5],
                                   output_padding=op[6])
        elif kind == "norm":
            if norm == "instance":
                x = F.instance_norm(x, eps=1e-5)
            else:
                x = F.batch_norm(x, sd[f"{key}.running_mean"].clone(), sd[f"{key}.running_var"].clone(),
                                 sd[f"{key}.weight"], sd[f"{key}.bias"], training=bn_batch_stats, eps=1e-5)
        elif kind == "pad":
            x = F.pad(x, (op[1],) * 4, mode="reflect")
        elif kind == "relu":
            x = F.relu(x)
        elif kind == "lrelu":
            x = F.leaky_relu(x, 0.2)
        elif kind == "tanh":
            x = torch.tanh(x)
        elif kind == "res":
            x = x + run(op[1], sd, x, f"{key}.conv_block", norm, bn_batch_stats)
        elif kind == "block":
            outermost, sub = op[1], op[2]
            if outermost:
                x = run(sub, sd, x, f"{key}.model", norm, bn_batch_stats)
            else:
                act = F.leaky_relu(x, 0.2)
                x = torch.cat([act, run(sub, sd, act, f"{key}.model", norm, bn_batch_stats, first=1)], 1)
        elif kind == "blurdown":
            x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), sd[f"{key}.filt"], stride=2, groups=x.shape[1])
        elif kind == "blurup":
            y = F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), sd[f"{key}.filt"], stride=2, padding=2,
                                   groups=x.shape[1])
            x = y[:, :, 1:, 1:][:, :, :-1, :-1]
    return x


# --------------------------------------------------------------------------- helpers


def _ref(family, *args, **kw):
    """(ops, prefix, norm) of a reference network."""
    if family == "resnet":
        return resnet_ops(*args, **kw), RESNET_PREFIX, args[4]
    return unet_ops(*args, **kw), UNET_PREFIX, args[4]


def _save(tmp_path, state, name="latest_net_G.pth", **save_kw):
    path = tmp_path / name
    torch.save(state, path, **save_kw)
    return path


def _max_diff(net, ops, sd, prefix, norm, x):
    with torch.no_grad():
        return float((net.eval()(x) - run(ops, sd, x, prefix, norm)).abs().max())


RESNETS = [  # in, out, ngf, n_blocks, norm, dropout, padding
    (3, 3, 8, 9, "instance", False, "reflect"),
    (1, 3, 8, 6, "instance", False, "reflect"),
    (3, 2, 8, 3, "batch", False, "reflect"),
    (3, 3, 8, 2, "instance", True, "reflect"),
    (4, 1, 8, 1, "batch", True, "zero"),
]
UNETS = [  # in, out, ngf, num_downs, norm
    (3, 3, 8, 8, "batch"),
    (3, 3, 8, 7, "batch"),
    (1, 2, 8, 5, "instance"),
    (3, 3, 4, 6, "batch"),
]

# --------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("cin,cout,ngf,n_blocks,norm,dropout,padding", RESNETS)
def test_resnet_files_load_and_match_the_reference_forward(tmp_path, cin, cout, ngf, n_blocks, norm, dropout, padding):
    ops, prefix, _ = _ref("resnet", cin, cout, ngf, n_blocks, norm, dropout, padding)
    sd = make_state(ops, prefix, norm)
    net, spec = load_generator(_save(tmp_path, sd))
    assert spec.architecture == {9: "resnet_9blocks", 6: "resnet_6blocks"}.get(n_blocks, "resnet")
    assert (spec.in_channels, spec.out_channels, spec.kwargs["ngf"], spec.kwargs["norm"]) == (cin, cout, ngf, norm)
    assert spec.kwargs["dropout"] == dropout and spec.kwargs["padding"] == padding
    x = torch.rand(2, cin, 40, 48) * 2 - 1
    assert _max_diff(net, ops, sd, prefix, norm, x) < 1e-5


@pytest.mark.parametrize("cin,cout,ngf,num_downs,norm", UNETS)
def test_unet_files_load_and_match_the_reference_forward(tmp_path, cin, cout, ngf, num_downs, norm):
    ops, prefix, _ = _ref("unet", cin, cout, ngf, num_downs, norm, dropout=True)
    sd = make_state(ops, prefix, norm)
    net, spec = load_generator(_save(tmp_path, sd))
    assert spec.architecture == {8: "unet_256", 7: "unet_128"}.get(num_downs, "unet")
    assert net.size_multiple == 2**num_downs
    x = torch.rand(2, cin, 2**num_downs, 2 ** (num_downs + 1)) * 2 - 1
    assert _max_diff(net, ops, sd, prefix, norm, x) < 1e-5
    # Dropout sits where the reference puts it: the num_downs-5 middle 8ngf levels.
    expected_dropouts = num_downs - 5 if norm == "batch" else 0
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == expected_dropouts


def test_legacy_instance_norm_stats_and_dataparallel_prefix_are_handled(tmp_path):
    ops, prefix, norm = _ref("resnet", 3, 3, 8, 2, "instance")
    sd = make_state(ops, prefix, norm)
    legacy = dict(sd)
    for key in ("model.2", "model.5", "model.10.conv_block.2", "model.13"):  # norm positions
        c = 8 if key == "model.2" else 16 if key in ("model.5", "model.13") else 32
        legacy[f"{key}.running_mean"] = torch.full((c,), 5.0)  # would wreck the output if used
        legacy[f"{key}.running_var"] = torch.full((c,), 9.0)
    wrapped = {f"module.{k}": v for k, v in legacy.items()}
    # PyTorch < 1.6 wrote the legacy (non-zip) format; weights_only reads it too.
    path = _save(tmp_path, wrapped, _use_new_zipfile_serialization=False)
    imported = import_state_dict(torch.load(path, weights_only=True), str(path))
    assert any("module." in n for n in imported.notes) and any("legacy" in n for n in imported.notes)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert _max_diff(imported.net, ops, sd, prefix, norm, x) < 1e-5


def test_old_batch_norm_without_counters_loads(tmp_path):
    ops, prefix, norm = _ref("unet", 3, 3, 4, 5, "batch")
    sd = make_state(ops, prefix, norm)
    old = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    net, _ = load_generator(_save(tmp_path, old))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert _max_diff(net, ops, sd, prefix, norm, x) < 1e-5


def test_cyclegan_b_file_is_the_b_to_a_generator(tmp_path):
    ops, prefix, norm = _ref("resnet", 3, 3, 4, 1, "instance")
    path = _save(tmp_path, make_state(ops, prefix, norm), "latest_net_G_B.pth")
    assert load_generator(path)[1].direction == "BtoA"
    assert load_generator(path, "BtoA")[1].direction == "BtoA"
    with pytest.raises(CheckpointError, match="single generator"):
        load_generator(path, "AtoB")


# --------------------------------------------------------------------------- recognition errors


def test_unknown_layout_names_the_closest_and_the_mismatching_keys(tmp_path):
    ops, prefix, norm = _ref("resnet", 3, 3, 8, 9, "instance")
    sd = make_state(ops, prefix, norm)
    del sd["model.12.conv_block.5.weight"]
    sd["model.26.weight"] = torch.zeros(3, 9, 7, 7)
    with pytest.raises(LayoutError) as err:
        load_generator(_save(tmp_path, sd))
    message = str(err.value)
    assert "closest is pytorch-CycleGAN-and-pix2pix ResnetGenerator (9 blocks" in message
    assert "model.12.conv_block.5.weight" in message and "model.26.weight (3, 9, 7, 7)" in message
    assert "\n" not in message


def test_unrelated_state_dict_is_refused_with_its_keys(tmp_path):
    path = _save(tmp_path, {"fc.weight": torch.zeros(10, 4), "fc.bias": torch.zeros(10)})
    with pytest.raises(LayoutError, match=r"closest is .*unexpected: fc.weight, fc.bias"):
        load_generator(path)


def test_non_state_dicts_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_generator(_save(tmp_path, [torch.zeros(1)]))
    whole = _save(tmp_path, {"model.1.weight": torch.zeros(64, 3, 7, 7)}).read_bytes()
    (tmp_path / "cut.pth").write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    with pytest.raises(CheckpointError, match="cut.pth: cannot read as a PyTorch weights file"):
        load_generator(tmp_path / "cut.pth")


# --------------------------------------------------------------------------- full-size layouts


def _meta_state(ops, prefix, norm):
    return make_state(ops, prefix, norm, make=lambda shape, kind: torch.empty(shape, device="meta"))


@pytest.mark.parametrize("family,args,architecture,params", [
    ("resnet", (3, 3, 64, 9, "instance"), "resnet_9blocks", 11_378_179),
    ("unet", (3, 3, 64, 8, "batch"), "unet_256", 54_413_955),
])
def test_full_size_published_layouts_line_up(family, args, architecture, params):
    ops, prefix, norm = _ref(family, *args)
    sd = _meta_state(ops, prefix, norm)
    layout = recognise({k: tuple(v.shape) for k, v in sd.items()})
    assert layout.architecture == architecture and layout.parameters == params
    assert list(layout.keys) == list(sd)  # the same keys in the same (forward) order
    with torch.device("meta"):
        net = GeneratorSpec(layout.architecture, 3, 3, dict(layout.kwargs)).build()
    assert [tuple(v.shape) for v in net.state_dict().values()] == [tuple(v.shape) for v in sd.values()]
    assert sum(p.numel() for p in net.parameters()) == params


# --------------------------------------------------------------------------- reference test mode


def test_reference_test_mode_uses_batch_statistics_per_image_and_survives_eval(tmp_path):
    from translate.apply.images import translate_tensor

    ops, prefix, norm = _ref("unet", 3, 3, 4, 6, "batch", dropout=True)
    sd = make_state(ops, prefix, norm)
    net, _ = load_generator(_save(tmp_path, sd))
    for m in net.modules():  # dropout off, so batch-norm behaviour can be compared exactly
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    wrapped = reference_test_mode(net).eval()  # apply calls eval(); the inner net must stay in train mode
    assert net.training and wrapped.size_multiple == 64
    x = torch.rand(2, 3, 64, 128) * 2 - 1
    y = translate_tensor(wrapped, x, wrapped.size_multiple, None)
    for i in range(2):  # one image at a time, each normalised with its own statistics
        expected = run(ops, sd, x[i:i + 1], prefix, norm, bn_batch_stats=True)
        assert float((y[i:i + 1] - expected).abs().max()) < 1e-5
    assert float((y - run(ops, sd, x, prefix, norm)).abs().max()) > 1e-3  # differs from eval mode


def test_reference_test_mode_keeps_dropout_on_and_default_stays_deterministic(tmp_path):
    ops, prefix, norm = _ref("unet", 3, 3, 4, 6, "batch", dropout=True)
    net, _ = load_generator(_save(tmp_path, make_state(ops, prefix, norm)))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net.eval()(x), net.eval()(x))
        wrapped = reference_test_mode(net).eval()
        assert not torch.equal(wrapped(x), wrapped(x))


def test_apply_command_runs_a_bare_reference_file(tmp_path):
    import cv2
    import numpy as np

    from translate.cli import main

    ops, prefix, norm = _ref("resnet", 3, 3, 4, 1, "instance")
    path = _save(tmp_path, make_state(ops, prefix, norm), "latest_net_G_A.pth")
    cv2.imwrite(str(tmp_path / "in.png"), (np.random.default_rng(0).random((30, 42, 3)) * 255).astype(np.uint8))
    assert main(["apply", "--checkpoint", str(path), "--input", str(tmp_path / "in.png"),
                 "--output", str(tmp_path / "out.png"), "--precision", "fp32"]) == 0
    assert cv2.imread(str(tmp_path / "out.png")).shape == (30, 42, 3)
