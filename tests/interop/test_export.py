"""Export of every zoo generator to ONNX and TorchScript, verified against PyTorch; the CLI."""
import json
import warnings

import onnx
import pytest
import torch

from translate.checkpoint import GeneratorSpec, save_run
from translate.interop.loading import load_generator
from translate.cli import main
from translate.interop import export as export_mod
from translate.interop.errors import ExportError
from translate.interop.export import TOLERANCE, export_generator
from translate.interop.layouts import reference_unet
from translate.registry import GENERATORS

torch.set_num_threads(1)

# Small but structurally complete options for every generator (names absent from the zoo are ignored).
SMALL = {
    "unet": dict(ngf=4, num_downs=5),
    "unet_128": dict(ngf=2),
    "unet_256": dict(ngf=2),
    "resnet": dict(ngf=4, n_blocks=2),
    "resnet_6blocks": dict(ngf=4),
    "resnet_9blocks": dict(ngf=4),
    "encoder_decoder": dict(ngf=4, image_size=32),
    "pix2pixhd_global": dict(ngf=4, n_blocks=2),
    "pix2pixhd_local": dict(ngf=4, n_blocks=1, n_blocks_local=1),
    "cogan_inverter": dict(latent_dim=8, size=32, ngf=4, nef=4, iterations=2, restarts=1),
}
# Not a fixed feed-forward graph: it runs an optimiser over its latent code at apply time.
NOT_EXPORTABLE = {"cogan_inverter"}


def test_every_generator_has_small_export_options():
    missing = set(GENERATORS.names()) - set(SMALL)
    assert not missing, f"add small options for {sorted(missing)} to SMALL"


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", sorted(GENERATORS.names()))
def test_zoo_generator_exports_and_matches_pytorch(tmp_path, name, fmt):
    spec = GeneratorSpec(name, 3, 2, SMALL.get(name, {}))
    net = spec.build()
    if name in NOT_EXPORTABLE:
        with pytest.raises(ExportError, match=name):
            export_generator(net, spec, tmp_path, fmt)
        assert list(tmp_path.iterdir()) == []
        return
    report = export_generator(net, spec, tmp_path, fmt)
    assert report.path.exists() and report.path.parent == tmp_path
    shapes = [shape for shape, _ in report.checks]
    # Verified at sizes other than the export's own: batch 2 and both non-square orientations.
    assert len(shapes) == 2 and shapes[0][0] == 2 and shapes[0][2] != shapes[0][3] and shapes[1][2] > shapes[1][3]
    assert report.max_diff < TOLERANCE
    assert [p.name for p in tmp_path.iterdir()] == [report.path.name]  # no temporary files left


def test_onnx_has_dynamic_batch_height_width_and_the_spec(tmp_path):
    spec = GeneratorSpec("resnet", 1, 3, dict(ngf=4, n_blocks=1), direction="BtoA", translator="cyclegan")
    report = export_generator(spec.build(), spec, tmp_path / "g.onnx", "onnx")
    model = onnx.load(str(report.path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "", "height", "width"] and dims[1].dim_value == 1
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["translate_spec"])["direction"] == "BtoA" and meta["size_multiple"] == "4"


def test_non_finite_models_are_not_called_verified(tmp_path):
    spec = GeneratorSpec("resnet", 3, 3, dict(ngf=4, n_blocks=1))
    net = spec.build()
    with torch.no_grad():
        next(net.parameters()).fill_(float("nan"))
    with pytest.raises(ExportError, match="non-finite"):
        export_generator(net, spec, tmp_path / "g.pt", "torchscript")
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_export_is_caught_and_not_written(tmp_path, monkeypatch):
    spec = GeneratorSpec("resnet", 3, 3, dict(ngf=4, n_blocks=1))
    net = spec.build()
    other = spec.build()  # different random weights: a stand-in for an exporter bug
    original = export_mod.TorchScriptFormat.export
    monkeypatch.setattr(export_mod.TorchScriptFormat, "export",
                        staticmethod(lambda n, s, tmp: original(other.eval(), s, tmp)))
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export_generator(net, spec, tmp_path / "g.pt", "torchscript")
    assert list(tmp_path.iterdir()) == []


def _run_folder(tmp_path):
    nets = {}
    for direction in ("AtoB", "BtoA"):
        spec = GeneratorSpec("resnet", 3, 3, dict(ngf=4, n_blocks=1), translator="cyclegan", direction=direction)
        nets[direction] = (spec.build(), spec)
    save_run(tmp_path / "run", nets, step=5, translator="cyclegan")
    return tmp_path / "run", nets


def test_export_command_from_a_run_folder(tmp_path, capsys):
    folder, nets = _run_folder(tmp_path)
    assert main(["export", "--checkpoint", str(folder), "--format", "torchscript", "--direction", "BtoA",
                 "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    assert "verified with torch.jit.load" in out.out and "max |exported - PyTorch|" in out.err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch marks torch.jit as deprecated
        loaded = torch.jit.load(str(tmp_path / "out" / "generator_BtoA.pt"))
    x = torch.rand(1, 3, 24, 20) * 2 - 1
    with torch.no_grad():
        assert float((loaded(x) - nets["BtoA"][0].eval()(x)).abs().max()) < 1e-5


def test_export_command_turns_a_reference_pth_into_safetensors(tmp_path):
    layout = reference_unet(ngf=4, num_downs=5)
    state = {k: torch.randn(s) * 0.05 if s else torch.tensor(3) for k, s in layout.keys.items()}
    state.update({k: torch.ones(s) for k, s in layout.keys.items() if k.endswith("running_var")})
    torch.save(state, tmp_path / "latest_net_G.pth")
    assert main(["export", "--checkpoint", str(tmp_path / "latest_net_G.pth"), "--format", "safetensors",
                 "--output", str(tmp_path / "facades.safetensors")]) == 0
    from_pth, _ = load_generator(tmp_path / "latest_net_G.pth")
    from_st, spec = load_generator(tmp_path / "facades.safetensors")
    assert spec.architecture == "unet" and spec.translator == "pix2pix"
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(from_pth.eval()(x), from_st.eval()(x))


def test_export_never_overwrites_its_own_checkpoint(tmp_path, capsys):
    folder, _ = _run_folder(tmp_path)
    target = folder / "generator_AtoB.safetensors"
    before = target.read_bytes()
    assert main(["export", "--checkpoint", str(target), "--format", "safetensors", "--output", str(target)]) == 2
    assert "overwrite" in capsys.readouterr().err and target.read_bytes() == before
