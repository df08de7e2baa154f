"""The `translate` command end to end in a temporary folder, as a user runs it."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from translate.cli import main
from translate.data import read_image

from conftest import TINY_CYCLEGAN, TINY_PIX2PIX


def _photos(folder):
    rng = np.random.default_rng(0)
    (folder / "nested").mkdir(parents=True)
    cv2.imwrite(str(folder / "odd.jpg"), (rng.random((37, 53, 3)) * 255).astype(np.uint8))
    cv2.imwrite(str(folder / "nested" / "gray.png"), (rng.random((30, 21)) * 255).astype(np.uint8))
    cv2.imwrite(str(folder / "rgba.png"), (rng.random((33, 34, 4)) * 255).astype(np.uint8))
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    return folder


def test_train_then_apply_a_folder_of_awkward_files(unpaired_data, tmp_path, capsys):
    ck = tmp_path / "checkpoints"
    assert main(["train", "cyclegan", "--data", str(unpaired_data), "--name", "run", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "2", "--num-workers", "0", *TINY_CYCLEGAN]) == 0
    photos = _photos(tmp_path / "photos")
    before = sorted(p.name for p in photos.rglob("*"))
    out = tmp_path / "out"
    code = main(["apply", "--checkpoint", str(ck / "run"), "--input", str(photos), "--output", str(out),
                 "--direction", "BtoA"])
    err = capsys.readouterr().err
    assert code == 1  # one bad file: non-zero exit, the rest still written
    assert "corrupt.png" in err and "1 file(s) failed" in err
    assert read_image(out / "odd.jpg").shape == (37, 53, 3)  # cropped back to the input size
    assert read_image(out / "nested" / "gray.png").shape == (30, 21, 3)  # tree mirrored
    assert read_image(out / "rgba.png").shape == (33, 34, 3)
    assert not (out / "corrupt.png").exists()
    assert sorted(p.name for p in photos.rglob("*")) == before  # nothing written into the input
    assert not list(out.rglob(".*tmp*"))  # no temporary files left behind


def test_apply_resizes_with_size_and_takes_a_bare_weights_file(paired_data, tmp_path):
    ck = tmp_path / "ck"
    assert main(["train", "pix2pix", "--data", str(paired_data), "--name", "p", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "1", "--num-workers", "0", *TINY_PIX2PIX]) == 0
    photos = _photos(tmp_path / "photos")
    out = tmp_path / "one.png"
    assert main(["apply", "--checkpoint", str(ck / "p" / "generator_AtoB.safetensors"),
                 "--input", str(photos / "odd.jpg"), "--output", str(out), "--size", "64"]) == 0
    assert read_image(out).shape == (45, 64, 3)


@pytest.mark.parametrize("argv,fragment", [
    (["train", "cyclegn", "--data", "x"], "did you mean cyclegan"),
    (["train", "cyclegan", "--data", "/nonexistent/data", "--steps", "1"], "/nonexistent/data"),
    (["train", "cyclegan", "--data", "TMP", "--set", "lamda_cycle=1"], "lambda_cycle"),  # a folder that exists
    (["apply", "--checkpoint", "/nonexistent/ck", "--input", "x", "--output", "y"], "/nonexistent/ck"),
])
def test_bad_input_is_one_line_and_non_zero(argv, fragment, capsys, tmp_path):
    assert main([str(tmp_path) if a == "TMP" else a for a in argv]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert fragment in err[-1] and err[-1].startswith("translate ")


def test_apply_refuses_output_inside_input(unpaired_data, tmp_path, capsys):
    ck = tmp_path / "ck"
    main(["train", "cyclegan", "--data", str(unpaired_data), "--name", "r", "--checkpoints-dir", str(ck),
          "--size", "32", "--steps", "1", "--num-workers", "0", *TINY_CYCLEGAN])
    photos = _photos(tmp_path / "photos")
    assert main(["apply", "--checkpoint", str(ck / "r"), "--input", str(photos), "--output", str(photos / "out")]) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert not (photos / "out").exists()


def test_models_lists_every_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("pix2pix", "cyclegan", "unet_256", "resnet_9blocks", "patchgan", "pixel", "multiscale",
                 "adversarial", "l1", "ssim", "perceptual", "feature_matching"):
        assert f"  {name} " in out


def test_models_lists_what_the_api_lists(capsys):
    """`translate models` reads registry.ZOO, not translate.list_models (the API imports the apply room)."""
    import translate

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for title, members in translate.list_models().items():
        assert f"{title}:" in out
        for name, summary in members:
            assert f"  {name:18s} {summary}" in out


def test_console_entry_point_and_help():
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    done = subprocess.run([sys.executable, "-m", "translate", "train", "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0
    for flag in ("--data", "--name", "--checkpoints-dir", "--size", "--batch-size", "--steps", "--epochs",
                 "--seed", "--device", "--resume", "--config", "--set"):
        assert flag in done.stdout
    done = subprocess.run([sys.executable, "-m", "translate", "apply", "--help"], capture_output=True, text=True, env=env)
    for flag in ("--checkpoint", "--input", "--output", "--direction", "--size", "--batch-size", "--device"):
        assert flag in done.stdout


def test_help_config_lists_keys(capsys):
    assert main(["train", "cyclegan", "--help-config"]) == 0
    out = capsys.readouterr().out
    assert "lambda_cycle" in out and "batch_size" in out
    residual = next(row for row in out.splitlines() if row.startswith("residual "))
    assert "bool | str" in residual and "'auto'" in residual and "true | false | auto" in residual


def test_reference_test_mode_keeps_dropout_random(paired_data, tmp_path):
    ck = tmp_path / "ck"
    assert main(["train", "pix2pix", "--data", str(paired_data), "--name", "p", "--checkpoints-dir", str(ck),
                 "--size", "64", "--steps", "1", "--num-workers", "0", *TINY_PIX2PIX,
                 "--set", "dropout=true", "--set", "generator_options={num_downs: 6}"]) == 0
    photos = _photos(tmp_path / "photos")
    outs = []
    for i, flags in enumerate(([], [], ["--reference-test-mode"], ["--reference-test-mode"])):
        out = tmp_path / f"o{i}.png"
        assert main(["apply", "--checkpoint", str(ck / "p"), "--input", str(photos / "rgba.png"),
                     "--output", str(out), "--precision", "fp32", *flags]) == 0
        outs.append(read_image(out).astype(int))
    assert (outs[0] == outs[1]).all()  # evaluation mode: deterministic
    assert (outs[2] != outs[3]).any()  # reference behaviour: dropout on, two runs differ


def test_train_direction_flag_makes_a_BtoA_generator(paired_data, tmp_path):
    ck = tmp_path / "ck"
    assert main(["train", "pix2pix", "--data", str(paired_data), "--name", "p", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "1", "--num-workers", "0", "--direction", "BtoA", *TINY_PIX2PIX]) == 0
    assert (ck / "p" / "generator_BtoA.safetensors").exists()
