"""`translate inspect`: run folders, safetensors files and reference .pth files."""
import json

import torch

from translate.checkpoint import CONFIG_FILE, GeneratorSpec, save_run
from translate.cli import main
from translate.interop.layouts import reference_resnet

torch.set_num_threads(1)


def test_inspect_run_folder_shows_generators_and_training_config(tmp_path, capsys):
    nets = {}
    for direction in ("AtoB", "BtoA"):
        spec = GeneratorSpec("resnet", 3, 1, dict(ngf=4, n_blocks=2), translator="cyclegan", direction=direction)
        nets[direction] = (spec.build(), spec)
    save_run(tmp_path / "run", nets, step=1234, translator="cyclegan")
    (tmp_path / "run" / CONFIG_FILE).write_text("lambda_cycle: 10.0\nsize: 256\n")
    assert main(["inspect", "--checkpoint", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    params = sum(p.numel() for p in nets["AtoB"][0].parameters())
    assert "translator: cyclegan" in out and "step: 1234" in out
    assert "generator BtoA: resnet(" in out and "channels 3 -> 1" in out and f"{params:,} parameters" in out
    assert "lambda_cycle: 10.0" in out

    assert main(["inspect", "--checkpoint", str(tmp_path / "run"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [g["direction"] for g in info["generators"]] == ["AtoB", "BtoA"]
    assert info["generators"][0]["parameters"] == params and info["generators"][0]["size_multiple"] == 4
    assert info["config"] == {"lambda_cycle": 10.0, "size": 256}


def test_inspect_reference_pth_names_its_layout_and_adjustments(tmp_path, capsys):
    layout = reference_resnet(ngf=8, n_blocks=6)
    state = {f"module.{k}": torch.zeros(s) for k, s in layout.keys.items()}
    torch.save(state, tmp_path / "latest_net_G_A.pth")
    assert main(["inspect", "--checkpoint", str(tmp_path / "latest_net_G_A.pth")]) == 0
    out = capsys.readouterr().out
    assert "ResnetGenerator (6 blocks, ngf 8, instance norm" in out
    assert "generator AtoB: resnet_6blocks(" in out and f"{layout.parameters:,} parameters" in out
    assert "stripped DataParallel 'module.' prefix" in out


def test_inspect_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["inspect", "--checkpoint", str(tmp_path / "nope")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
