"""Metrics during training: `--set eval_every=N` logs them at the requested steps."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from translate.cli import main

from conftest import TINY_CYCLEGAN, TINY_PIX2PIX


@pytest.fixture(autouse=True)
def _empty_torch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def _train(translator, data, ck, steps, *extra):
    tiny = TINY_PIX2PIX if translator == "pix2pix" else TINY_CYCLEGAN
    return main(["train", translator, "--data", str(data), "--name", "run", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", str(steps), "--num-workers", "0", *tiny, *extra])


def test_pix2pix_metrics_logged_at_the_requested_steps(paired_data, tmp_path, capsys):
    shutil.copytree(paired_data / "train", paired_data / "test")
    ck = tmp_path / "ck"
    assert _train("pix2pix", paired_data, ck, 5, "--set", "eval_every=2", "--set", "eval_max_images=2",
                  "--set", "eval_metrics=[psnr, ssim]") == 0
    log = json.loads((ck / "run" / "eval_log.json").read_text())
    assert [r["step"] for r in log] == [2, 4]  # multiples of eval_every only (not the final step 5)
    for record in log:
        assert {(m["metric"], m["direction"], m["images"]) for m in record["metrics"]} == {
            ("psnr", "AtoB", 2), ("ssim", "AtoB", 2)}
        assert record["split"] == "test"
    assert "eval @ step 4: psnr_AtoB" in capsys.readouterr().out
    page = (ck / "run" / "web" / "index.html").read_text()
    assert "psnr_AtoB" in page and "<td>4</td>" in page
    events = list((ck / "run" / "tensorboard").glob("events.*"))
    assert events and b"eval/ssim_AtoB" in b"".join(p.read_bytes() for p in events)


def test_cyclegan_logs_cycle_psnr_of_both_directions(unpaired_data, tmp_path):
    for domain in "AB":
        shutil.copytree(unpaired_data / f"train{domain}", unpaired_data / f"test{domain}")
    ck = tmp_path / "ck"
    assert _train("cyclegan", unpaired_data, ck, 2, "--set", "eval_every=1", "--set", "eval_max_images=2",
                  "--set", "eval_metrics=[cycle_psnr]") == 0
    log = json.loads((ck / "run" / "eval_log.json").read_text())
    assert [r["step"] for r in log] == [1, 2]
    assert {(m["metric"], m["direction"]) for m in log[-1]["metrics"]} == {
        ("cycle_psnr", "AtoB"), ("cycle_psnr", "BtoA")}


def test_evaluation_does_not_change_the_training(paired_data, tmp_path):
    # pix2pix's U-Net has batch norm and dropout: a network left in eval mode, or random numbers
    # drawn by the evaluation, would change the weights compared with a run without evaluation.
    shutil.copytree(paired_data / "train", paired_data / "test")
    evaluated, plain = tmp_path / "evaluated", tmp_path / "plain"
    assert _train("pix2pix", paired_data, evaluated, 3, "--set", "eval_every=1", "--set", "eval_max_images=2",
                  "--set", "eval_metrics=[psnr]", "--precision", "fp32") == 0
    assert _train("pix2pix", paired_data, plain, 3, "--precision", "fp32") == 0
    a = load_file(evaluated / "run" / "generator_AtoB.safetensors")
    b = load_file(plain / "run" / "generator_AtoB.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_missing_eval_split_stops_before_training(paired_data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert _train("pix2pix", paired_data, ck, 3, "--set", "eval_every=1") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "eval_every=1 needs the 'test' split" in err[0]
    assert not (ck / "run" / "generator_AtoB.safetensors").exists()


def test_missing_feature_weights_are_reported_once(paired_data, tmp_path, capsys):
    shutil.copytree(paired_data / "train", paired_data / "test")
    ck = tmp_path / "ck"
    assert _train("pix2pix", paired_data, ck, 2, "--set", "eval_every=1", "--set", "eval_max_images=1") == 0
    out = capsys.readouterr().out  # the progress bar's messages go to stdout
    assert out.count("eval: skipped lpips") == 1 and "alexnet-owt-7be5be79.pth" in out
    log = json.loads((ck / "run" / "eval_log.json").read_text())
    assert [sorted(m["metric"] for m in r["metrics"]) for r in log] == [["psnr", "ssim"]] * 2
