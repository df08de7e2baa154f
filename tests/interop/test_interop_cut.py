"""Import of CUT / FastCUT generator files (taesungp/contrastive-unpaired-translation).

CUT's ResnetGenerator is restated here from its recipe, independently of
translate.interop.layouts_cut and translate.nets.antialias, as an op list in its published
module order (an op's position is its ``model.N`` key) with a small interpreter built on
torch.nn.functional. Its anti-aliasing ops run as CUT's code runs them: the ``filt`` buffer read
from the state dict, a transposed conv with padding 2 and the two one-pixel crops.
"""
import numpy as np
import pytest
import torch

import translate
from translate.checkpoint import GeneratorSpec
from translate.interop.errors import LayoutError
from translate.interop.layouts import recognise
from translate.interop.loading import load_generator

from test_interop_reference import _save, make_state, run  # the restated networks' interpreter

torch.set_num_threads(1)

# Ops as in test_interop_reference (whose make_state and run interpret them), with ("blurdown", c)
# and ("blurup", c): CUT's Downsample and Upsample, each a ``filt`` buffer.


def cut_ops(cin, cout, ngf, n_blocks, norm="instance", down=True, up=True, padding="reflect"):
    bias = norm == "instance"
    ops = [("pad", 3), ("conv", cin, ngf, 7, 1, 0, bias), ("norm", ngf), ("relu",)]
    for i in range(2):
        c = ngf * 2 ** (i + 1)
        if down:
            ops += [("conv", c // 2, c, 3, 1, 1, bias), ("norm", c), ("relu",), ("blurdown", c)]
        else:
            ops += [("conv", c // 2, c, 3, 2, 1, bias), ("norm", c), ("relu",)]
    dim, p = 4 * ngf, (0 if padding == "reflect" else 1)
    half = ([("pad", 1)] if padding == "reflect" else []) + [("conv", dim, dim, 3, 1, p, bias), ("norm", dim)]
    ops += [("res", half + [("relu",)] + half)] * n_blocks
    for i in range(2):
        c = ngf * 2 ** (2 - i)
        if up:
            ops += [("blurup", c), ("conv", c, c // 2, 3, 1, 1, bias), ("norm", c // 2), ("relu",)]
        else:
            ops += [("convT", c, c // 2, 3, 2, 1, 1, bias), ("norm", c // 2), ("relu",)]
    return ops + [("pad", 3), ("conv", ngf, cout, 7, 1, 0, True), ("tanh",)]


CUTS = [  # in, out, ngf, n_blocks, norm, anti-aliased down, up, padding
    (3, 3, 4, 9, "instance", True, True, "reflect"),
    (3, 3, 4, 6, "instance", True, True, "reflect"),
    (1, 3, 6, 2, "instance", True, True, "zero"),
    (3, 2, 4, 1, "batch", True, True, "reflect"),
    (3, 3, 4, 1, "instance", True, False, "reflect"),  # --no_antialias_up
    (3, 3, 4, 1, "instance", False, True, "reflect"),  # --no_antialias
]


@pytest.mark.parametrize("cin,cout,ngf,n_blocks,norm,down,up,padding", CUTS)
def test_cut_files_load_without_flags_and_match_the_reference_forward(tmp_path, cin, cout, ngf, n_blocks, norm,
                                                                       down, up, padding):
    ops = cut_ops(cin, cout, ngf, n_blocks, norm, down, up, padding)
    sd = make_state(ops, norm=norm)
    model = translate.load(_save(tmp_path, sd), precision="fp32")
    spec = model.spec
    assert spec.architecture == {9: "resnet_9blocks", 6: "resnet_6blocks"}.get(n_blocks, "resnet")
    assert spec.translator == "cut" and (spec.in_channels, spec.out_channels) == (cin, cout)
    assert (spec.kwargs["downsample"], spec.kwargs["upsample"]) == ("antialias" if down else "stride",
                                                                    "antialias" if up else "transpose")
    assert (spec.kwargs["ngf"], spec.kwargs["norm"], spec.kwargs["padding"]) == (ngf, norm, padding)
    x = torch.rand(2, cin, 32, 40) * 2 - 1
    with torch.no_grad():
        assert float((model(x) - run(ops, sd, x, norm=norm)).abs().max()) < 1e-5


def test_a_cut_file_without_any_anti_aliasing_is_cyclegans_network(tmp_path):
    # --no_antialias --no_antialias_up: the same keys and shapes as CycleGAN's generator, named after it.
    ops = cut_ops(3, 3, 4, 2, down=False, up=False)
    sd = make_state(ops, norm="instance")
    net, spec = load_generator(_save(tmp_path, sd))
    assert spec.translator == "cyclegan" and spec.kwargs.get("upsample", "transpose") == "transpose"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert float((net.eval()(x) - run(ops, sd, x, norm="instance")).abs().max()) < 1e-5


def test_full_size_published_cut_layout_lines_up():
    sd = make_state(cut_ops(3, 3, 64, 9), norm="instance", make=lambda shape, kind: torch.empty(shape, device="meta"))
    layout = recognise({k: tuple(v.shape) for k, v in sd.items()})
    assert layout.family == "cut-resnet" and layout.architecture == "resnet_9blocks"
    assert list(layout.keys) == list(sd)  # the same keys in the same (forward) order, filters included
    assert set(layout.constants) == {"model.7.filt", "model.11.filt", "model.21.filt", "model.25.filt"}
    assert "model.30.weight" in sd and layout.parameters == 11_378_179
    with torch.device("meta"):
        net = GeneratorSpec(layout.architecture, 3, 3, dict(layout.kwargs)).build()
    learned = [tuple(v.shape) for k, v in sd.items() if not k.endswith(".filt")]
    assert [tuple(v.shape) for v in net.state_dict().values()] == learned
    assert sum(p.numel() for p in net.parameters()) == layout.parameters


def test_apply_command_runs_a_cut_file_on_a_folder(tmp_path):
    import cv2

    from translate.cli import main

    path = _save(tmp_path, make_state(cut_ops(3, 3, 4, 1), norm="instance"))
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / "in" / name), (rng.random((30, 42, 3)) * 255).astype(np.uint8))
    assert main(["apply", "--checkpoint", str(path), "--input", str(tmp_path / "in"),
                 "--output", str(tmp_path / "out"), "--precision", "fp32"]) == 0
    for name in ("a.png", "b.png"):
        assert cv2.imread(str(tmp_path / "out" / name)).shape == (30, 42, 3)


# --------------------------------------------------------------------------- refusals


def test_a_truncated_cut_file_names_the_closest_layout_in_one_line(tmp_path):
    sd = make_state(cut_ops(3, 3, 4, 9), norm="instance")
    del sd["model.15.conv_block.5.weight"]
    del sd["model.25.filt"]
    sd["model.30.weight"] = torch.zeros(3, 5, 7, 7)
    with pytest.raises(LayoutError) as err:
        load_generator(_save(tmp_path, sd))
    message = str(err.value)
    assert "closest is contrastive-unpaired-translation ResnetGenerator (9 blocks, ngf 4" in message
    assert "model.15.conv_block.5.weight" in message and "model.25.filt" in message
    assert "model.30.weight (3, 5, 7, 7)" in message and "\n" not in message


def test_a_cut_file_with_other_fixed_filters_is_refused(tmp_path):
    sd = make_state(cut_ops(3, 3, 4, 1), norm="instance")
    sd["model.11.filt"] = torch.full_like(sd["model.11.filt"], 1 / 9)  # a box blur: not what our modules apply
    with pytest.raises(LayoutError, match=r"latest_net_G.pth: model.11.filt is not the fixed filter of "
                                          r"contrastive-unpaired-translation ResnetGenerator"):
        load_generator(_save(tmp_path, sd))
