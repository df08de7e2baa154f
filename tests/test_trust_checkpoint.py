"""Hostile or malformed checkpoint files: one line each, nothing built or run that the file asks for."""
import json
import pathlib

import pytest
import torch
from safetensors.torch import save_file

from translate import checkpoint as ckpt
from translate.checkpoint import CheckpointError, GeneratorSpec, save_run
from translate.interop.loading import load_generator
from translate.cli import main


class _TouchOnLoad:
    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


@pytest.fixture
def run_folder(tmp_path):
    spec = GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", "AtoB")
    folder = tmp_path / "run"
    save_run(folder, {"AtoB": (spec.build(), spec)}, step=1, translator="cyclegan")
    return folder


def _edit_meta(folder, change):
    path = folder / ckpt.METADATA_FILE
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("key,value,fragment", [
    ("n_blocks", 1_000_000, "'n_blocks' = 1000000 is out of bounds (0 to 100)"),
    ("ngf", 10_000, "'ngf' = 10000 is out of bounds"),
    ("ngf", "24", "'ngf' expects int, got '24'"),
    ("in_channels", 1e9, "'in_channels' expects int, got 1000000000.0"),
    ("out_channels", 0, "out_channels must be at least 1"),
])
def test_architecture_sizes_from_a_file_are_typed_and_bounded(tmp_path, key, value, fragment):
    spec = {"architecture": "resnet", "in_channels": 3, "out_channels": 3, "kwargs": {"ngf": 4, "n_blocks": 1},
            "preprocess": {}, "translator": "cyclegan", "direction": "AtoB"}
    if key in spec:
        spec[key] = value
    else:
        spec["kwargs"][key] = value
    path = tmp_path / "g.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format": ckpt.FORMAT, "spec": json.dumps(spec)})
    with pytest.raises(CheckpointError) as info:
        load_generator(path)
    message = str(info.value)
    assert fragment in message and str(path) in message and "\n" not in message


@pytest.mark.parametrize("change,fragment", [
    (lambda m: m.update(generators=[1, 2]), "'generators' must be a mapping"),
    (lambda m: m["generators"]["AtoB"].update(kwargs="ngf=4"), "kwargs must be a mapping"),
    (lambda m: m["generators"]["AtoB"].update(file="/etc/passwd"), "outside the run folder"),
    (lambda m: m["generators"]["AtoB"].update(file="../other/generator_AtoB.safetensors"), "outside the run folder"),
    (lambda m: m["generators"]["AtoB"].pop("architecture"), "lacks architecture"),
    (lambda m: m.update(generators={"AtoB": "x"}), "needs a mapping with a 'file' name"),
])
def test_malformed_metadata_is_one_line_through_apply(run_folder, tmp_path, capsys, change, fragment):
    _edit_meta(run_folder, change)
    from trust_corpus import smooth, write_png

    src = write_png(tmp_path / "x.png", smooth(0, 16, 16))
    assert main(["apply", "--checkpoint", str(run_folder), "--input", str(src), "--output",
                 str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "translate.json" in err[0], err


def test_a_symlink_out_of_the_run_folder_is_refused(run_folder, tmp_path):
    outside = tmp_path / "secret.safetensors"
    outside.write_bytes((run_folder / "generator_AtoB.safetensors").read_bytes())
    (run_folder / "generator_AtoB.safetensors").unlink()
    (run_folder / "generator_AtoB.safetensors").symlink_to(outside)
    with pytest.raises(CheckpointError, match="outside the run folder"):
        load_generator(run_folder)


def test_empty_or_foreign_training_state_is_one_line(run_folder):
    path = run_folder / ckpt.TRAINING_STATE_FILE
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"training_state.pt: the training state is empty \(0 bytes\)"):
        ckpt.load_training_state(run_folder)
    torch.save({"weights": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="not a translate training state .it lacks step"):
        ckpt.load_training_state(run_folder)
    path.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(CheckpointError, match="cannot read this training state"):
        ckpt.load_training_state(run_folder)


def test_hostile_training_state_is_refused_in_a_whole_sentence(run_folder, tmp_path):
    marker = tmp_path / "ran"
    torch.save({"step": _TouchOnLoad(marker)}, run_folder / ckpt.TRAINING_STATE_FILE)
    with pytest.raises(ckpt.UnsafeFileError) as info:
        ckpt.load_training_state(run_folder)
    message = str(info.value)
    assert not marker.exists()
    assert "refused: loading it would import and call" in message and message.endswith(".")
    assert "weights_only" not in message and "\n" not in message


def test_hostile_reference_pth_message_is_a_whole_sentence(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": _TouchOnLoad(marker)}, path)
    with pytest.raises(Exception) as info:
        load_generator(path)
    message = str(info.value)
    assert not marker.exists() and message.endswith(".") and "weights_only" not in message


def test_vgg_weights_that_are_a_hostile_pickle_are_refused(tmp_path):
    from translate.losses.perceptual import PerceptualLoss

    marker = tmp_path / "ran"
    path = tmp_path / "vgg19.pth"
    torch.save({"features.0.weight": _TouchOnLoad(marker)}, path)
    with pytest.raises(ckpt.UnsafeFileError, match="vgg19.pth: refused"):
        PerceptualLoss(weights_path=str(path))
    assert not marker.exists()
    torch.save([1, 2], path)
    with pytest.raises(CheckpointError, match="not a state dict"):
        PerceptualLoss(weights_path=str(path))


def test_missing_vgg_weights_hint_names_the_real_key_and_the_way_out(tmp_path):
    from translate.losses.perceptual import PerceptualLoss

    with pytest.raises(FileNotFoundError) as info:
        PerceptualLoss(weights_path=str(tmp_path / "none.pth"))
    assert "--set vgg_weights=PATH" in str(info.value) and "--set lambda_perceptual=0" in str(info.value)
    assert "weights_path" not in str(info.value)


def test_weights_files_get_the_permissions_of_every_other_output(run_folder):
    import os

    umask = os.umask(0)
    os.umask(umask)
    for path in run_folder.iterdir():
        assert (path.stat().st_mode & 0o777) == 0o666 & ~umask, path.name


def test_reference_test_mode_adds_dropout_only_where_the_model_has_it(tmp_path):

    from translate.interop.layouts import reference_unet
    from translate.interop.reference import reference_test_mode

    layout = reference_unet(ngf=2, num_downs=8)
    state = {k: torch.randn(s) * 0.1 if s else torch.tensor(0) for k, s in layout.keys.items()}
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    outputs = {}
    for name, options in (("with", None), ("without", "             no_dropout: True    \t[default: False]\n")):
        folder = tmp_path / name
        folder.mkdir()
        torch.save(state, folder / "latest_net_G.pth")
        if options:
            (folder / "train_opt.txt").write_text("----- Options -----\n" + options)
        net, spec = load_generator(folder / "latest_net_G.pth")
        net = reference_test_mode(net)
        with torch.no_grad():
            outputs[name] = (net(x), net(x))
        assert spec.kwargs["dropout"] is (name == "with")
    assert not torch.equal(*outputs["with"])  # the reference's default: dropout on, random
    assert torch.equal(*outputs["without"])  # trained with --no_dropout: deterministic, as its test.py


def test_nvidia_label_map_pth_reads_label_maps_without_flags(tmp_path):
    from translate.interop.layouts_pix2pixhd import pix2pixhd_global

    layout = pix2pixhd_global(in_channels=36, ngf=4, n_downsampling=2, n_blocks=1)
    state = {k: torch.randn(s) * 0.1 if s else torch.tensor(0) for k, s in layout.keys.items()}
    torch.save(state, tmp_path / "latest_net_G.pth")
    net, spec = load_generator(tmp_path / "latest_net_G.pth")
    assert spec.preprocess == {"input": "label", "num_classes": 35, "instance_maps": True}  # NVIDIA's default
    (tmp_path / "train_opt.txt").write_text("             label_nc: 36\n          no_instance: True\n")
    net, spec = load_generator(tmp_path / "latest_net_G.pth")
    assert spec.preprocess == {"input": "label", "num_classes": 36, "instance_maps": False}


def test_apply_runs_a_label_map_pth_end_to_end(tmp_path):
    import numpy as np

    from translate.data import read_image
    from translate.interop.layouts_pix2pixhd import pix2pixhd_global

    layout = pix2pixhd_global(in_channels=36, ngf=4, n_downsampling=2, n_blocks=1)
    state = {k: torch.randn(s) * 0.1 if s else torch.tensor(0) for k, s in layout.keys.items()}
    torch.save(state, tmp_path / "latest_net_G.pth")
    labels = np.zeros((32, 48), np.uint8)
    labels[:, 20:] = 7
    import cv2

    cv2.imwrite(str(tmp_path / "city_labelIds.png"), labels)
    assert main(["apply", "--checkpoint", str(tmp_path / "latest_net_G.pth"), "--input",
                 str(tmp_path / "city_labelIds.png"), "--output", str(tmp_path / "out.png"),
                 "--precision", "fp32"]) == 0
    assert read_image(tmp_path / "out.png").shape == (32, 48, 3)
