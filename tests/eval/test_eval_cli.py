"""`translate eval` end to end: two folders, checkpoints on paired and unpaired splits, bad input."""
import json
import shutil

import cv2
import numpy as np
import pytest
import torch

from translate.cli import main
from translate.eval.features import INCEPTION_FILES, WeightPaths, build_inception

from conftest import TINY_CYCLEGAN, TINY_PIX2PIX


@pytest.fixture(autouse=True)
def _empty_torch_cache(tmp_path, monkeypatch):
    # Feature-network weights are only what a test puts there: the outcome cannot depend on
    # whatever this machine's torch cache happens to hold.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def _images(folder, count=4, size=32, seed=0, ext=".png"):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        small = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i}{ext}"), cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC))
    return folder


def _json(path):
    return json.loads(path.read_text())


def _value(record, metric, direction=None):
    [entry] = [m for m in record["metrics"] if m["metric"] == metric and m.get("direction") == direction]
    return entry


def test_identical_folders_give_capped_psnr_and_ssim_one(tmp_path, capsys):
    pred = _images(tmp_path / "pred")
    target = shutil.copytree(pred, tmp_path / "target")
    out = tmp_path / "res" / "eval.json"
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--metrics", "psnr,ssim",
                 "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "psnr" in table and "100.0000" in table and "1.0000" in table
    record = _json(out)
    assert _value(record, "psnr")["value"] == 100.0
    assert _value(record, "ssim")["value"] == pytest.approx(1.0)
    assert _value(record, "psnr")["images"] == 4
    assert record["failed"] == [] and record["pred"] == str(pred)


def test_folders_match_by_name_not_extension_and_side_by_side_targets(tmp_path):
    pred = _images(tmp_path / "pred", ext=".png")
    # targets: A|B pairs (pix2pix split) whose B half is the prediction, saved as lossless .bmp
    target = tmp_path / "target"
    target.mkdir()
    for path in pred.iterdir():
        b = cv2.imread(str(path))
        cv2.imwrite(str(target / (path.stem + ".bmp")), np.concatenate([255 - b, b], axis=1))
    out = tmp_path / "r.json"
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--metrics", "psnr", "--json", str(out)]) == 0
    assert _value(_json(out), "psnr")["value"] == 100.0  # auto: the B half
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--metrics", "psnr", "--json", str(out),
                 "--size", "16"]) == 0
    assert _value(_json(out), "psnr")["value"] == 100.0  # resized after the half is cut: still equal
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--metrics", "psnr", "--json", str(out),
                 "--target-part", "A"]) == 0
    assert _value(_json(out), "psnr")["value"] < 20


def test_unmatched_names_are_one_clear_error(tmp_path, capsys):
    pred = _images(tmp_path / "pred", count=3)
    target = _images(tmp_path / "target", count=3)
    (pred / "img2.png").rename(pred / "extra.png")
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--metrics", "psnr"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "only in" in err[0] and "extra" in err[0] and "img2" in err[0]


def test_a_corrupt_image_is_reported_and_the_rest_evaluated(tmp_path, capsys):
    pred = _images(tmp_path / "pred", count=4)
    target = shutil.copytree(pred, tmp_path / "target")
    (pred / "img1.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    out = tmp_path / "r.json"
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--metrics", "psnr,ssim",
                 "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "img1.png" in err and "1 file(s) could not be evaluated" in err
    record = _json(out)
    assert _value(record, "psnr")["images"] == 3
    assert [f["file"] for f in record["failed"]] == [str(pred / "img1.png")]


def test_missing_feature_weights_skip_those_metrics_with_the_file_name(tmp_path, capsys):
    pred = _images(tmp_path / "pred")
    target = _images(tmp_path / "target", seed=1)
    out = tmp_path / "r.json"
    assert main(["eval", "--pred", str(pred), "--target", str(target), "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped fid:" in err and INCEPTION_FILES[0] in err
    assert "skipped lpips:" in err and "alexnet-owt-7be5be79.pth" in err
    record = _json(out)
    assert {m["metric"] for m in record["metrics"]} == {"psnr", "ssim"}  # the others still ran
    assert {s["metric"] for s in record["skipped"]} == {"fid", "kid", "lpips"}


@pytest.mark.parametrize("argv,fragment", [
    (["eval", "--pred", "a"], "--pred needs --target"),
    (["eval", "--checkpoint", "c"], "--checkpoint needs --data"),
    (["eval", "--pred", "a", "--target", "b", "--checkpoint", "c", "--data", "d"], "either"),
    (["eval", "--pred", "a", "--target", "b", "--metrics", "psnrr"], "did you mean psnr"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, argv, fragment):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    argv = [str(tmp_path / x) if x in ("a", "b") else x for x in argv]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_checkpoint_on_a_paired_split_writes_json_beside_it(paired_data, tmp_path, capsys):
    shutil.copytree(paired_data / "train", paired_data / "test")
    ck = tmp_path / "ck"
    assert main(["train", "pix2pix", "--data", str(paired_data), "--name", "p", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "2", "--num-workers", "0", *TINY_PIX2PIX]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(ck / "p"), "--data", str(paired_data), "--max-images", "3"]) == 0
    captured = capsys.readouterr()
    record = _json(ck / "p" / "eval_test_paired.json")  # named by split and dataset
    assert record["step"] == 2 and record["split"] == "test"
    psnr = _value(record, "psnr", "AtoB")
    assert psnr["images"] == 3 and psnr["step"] == 2 and psnr["split"] == "test" and 0 < psnr["value"] <= 100
    assert "skipped lpips" in captured.err  # no AlexNet weights here; PSNR and SSIM still measured
    assert "ssim" in captured.out


@pytest.fixture(scope="module")
def random_inception_dir(tmp_path_factory):
    """A randomly initialised FID Inception saved under its usual file name."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    torch.save(build_inception(WeightPaths(random=True)).state_dict(), folder / INCEPTION_FILES[0])
    return folder


def test_checkpoint_on_an_unpaired_split_fid_kid_and_cycle(unpaired_data, tmp_path, random_inception_dir, capsys):
    for domain in "AB":
        shutil.copytree(unpaired_data / f"train{domain}", unpaired_data / f"test{domain}")
    ck = tmp_path / "ck"
    assert main(["train", "cyclegan", "--data", str(unpaired_data), "--name", "c", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "1", "--num-workers", "0", *TINY_CYCLEGAN]) == 0
    out = tmp_path / "c.json"
    assert main(["eval", "--checkpoint", str(ck / "c"), "--data", str(unpaired_data), "--max-images", "3",
                 "--weights-dir", str(random_inception_dir), "--json", str(out)]) == 0
    record = _json(out)
    for direction in ("AtoB", "BtoA"):
        assert _value(record, "fid", direction)["images"] == 3
        assert _value(record, "fid", direction)["value"] > 0
        assert "std" in _value(record, "kid", direction)
        assert 0 < _value(record, "cycle_psnr", direction)["value"] < 100
    assert record["skipped"] == [] and record["step"] == 1


def test_identical_folders_give_fid_near_zero(tmp_path, random_inception_dir):
    pred = _images(tmp_path / "pred", count=4)
    target = shutil.copytree(pred, tmp_path / "target")
    other = _images(tmp_path / "other", count=4, seed=7)  # same names, other images
    out = tmp_path / "r.json"
    weights = ["--weights-dir", str(random_inception_dir), "--metrics", "fid", "--json", str(out)]
    assert main(["eval", "--pred", str(pred), "--target", str(target), *weights]) == 0
    identical = _value(_json(out), "fid")["value"]
    assert main(["eval", "--pred", str(other), "--target", str(target), *weights]) == 0
    different = _value(_json(out), "fid")["value"]
    assert identical == pytest.approx(0.0, abs=1e-3) and different > 1.0


def test_two_way_model_on_a_paired_split_also_gives_cycle_psnr(paired_data, tmp_path):
    """A CycleGAN scored where the test split is paired (the quality benchmark's unpaired tasks):
    PSNR against the ground truth and, when asked, A -> B -> A against A, both directions."""
    from translate.checkpoint import GeneratorSpec, save_run

    shutil.copytree(paired_data / "train", paired_data / "test")
    torch.manual_seed(0)
    specs = {d: GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", d)
             for d in ("AtoB", "BtoA")}
    save_run(tmp_path / "c", {d: (spec.build(), spec) for d, spec in specs.items()}, step=1, translator="cyclegan")
    out = tmp_path / "c.json"
    assert main(["eval", "--checkpoint", str(tmp_path / "c"), "--data", str(paired_data), "--max-images", "2",
                 "--metrics", "psnr,cycle_psnr", "--json", str(out)]) == 0
    record = _json(out)
    for direction in ("AtoB", "BtoA"):
        assert _value(record, "psnr", direction)["images"] == 2
        assert _value(record, "cycle_psnr", direction)["images"] == 2
        assert 0 < _value(record, "cycle_psnr", direction)["value"] < 100
    assert record["skipped"] == []
