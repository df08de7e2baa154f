"""tools/bench_quality.py: variants trained at equal steps with a fixed seed, then measured."""
import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import bench_quality  # noqa: E402


def test_variants_compared_at_equal_steps(paired_data, tmp_path, capsys):
    shutil.copytree(paired_data / "train", paired_data / "test")
    out = tmp_path / "bench.json"
    code = bench_quality.main([
        "--tiny", "--data", str(paired_data), "--steps", "3", "--size", "32", "--num-workers", "0",
        "--metrics", "psnr,ssim", "--json", str(out),
        "--variant", "base=--precision fp32", "--variant", "again=--precision fp32",
        "--variant", "no_l1=--precision fp32 --set lambda_l1=0", "--variant", "bad=--set lambda_l2=1",
    ])
    assert code == 1  # one variant failed; the others are still measured
    rows = {v["name"]: v for v in json.loads(out.read_text())["variants"]}
    assert rows["base"]["metrics"] == rows["again"]["metrics"]  # fixed seed: the same run twice
    assert rows["base"]["metrics"]["psnr_AtoB"] != rows["no_l1"]["metrics"]["psnr_AtoB"]  # the args took effect
    assert set(rows["base"]["metrics"]) == {"psnr_AtoB", "ssim_AtoB"}
    assert rows["bad"]["error"] and "lambda_l2" in rows["bad"]["error"] and rows["bad"]["metrics"] == {}
    table = capsys.readouterr().out
    assert "| base |" in table and "| bad |" in table and "failed" in table


def test_tasks_with_seeds_and_baselines_end_to_end(tmp_path, capsys):
    """--tasks builds the offline tasks, trains every variant per seed and prints baselines beside them."""
    out = tmp_path / "bench.json"
    code = bench_quality.main([
        "--tiny", "--tasks", "cartoon,unpaired", "--work", str(tmp_path / "data"), "--steps", "2", "--size", "32",
        "--seeds", "0,1", "--num-workers", "0", "--metrics", "psnr,ssim", "--json", str(out), "--jobs", "2",
        "--keep", str(tmp_path / "runs"),
        "--variant", "paper=--preset paper --precision fp32", "--variant", "ema=--set ema=true --precision fp32",
    ])
    assert code == 0
    record = json.loads(out.read_text())
    assert [t["task"] for t in record["tasks"]] == ["cartoon", "unpaired"]
    for task in record["tasks"]:
        directions = ["AtoB"] if task["translator"] == "pix2pix" else ["AtoB", "BtoA"]
        keys = {f"{m}_{d}" for m in ("psnr", "ssim") for d in directions}
        assert set(task["baselines"]) == {"identity", "mean_target", "colour_map"}
        assert set(task["baselines"]["identity"]) == keys
        # The photo is closer to its cartoon than the mean cartoon is: the baselines are real scores.
        assert task["baselines"]["identity"]["psnr_AtoB"] > task["baselines"]["mean_target"]["psnr_AtoB"]
        for v in task["variants"]:
            assert v["error"] is None and [r["seed"] for r in v["runs"]] == [0, 1]
            # Two-way models also get their cycle PSNR (A -> B -> A against A), each direction.
            cycle = {f"cycle_psnr_{d}" for d in directions} if task["translator"] == "cyclegan" else set()
            assert set(v["metrics"]) == keys | cycle and set(v["std"]) == keys | cycle
            assert all(5 < v["metrics"][k] < 100 for k in cycle)
            values = [r["metrics"]["psnr_AtoB"] for r in v["runs"]]
            assert min(values) <= v["metrics"]["psnr_AtoB"] <= max(values)
        paper, ema = task["variants"]
        assert paper["metrics"] != ema["metrics"]  # the EMA weights are what was measured
    table = capsys.readouterr().out
    assert "| identity | (baseline) |" in table and "| mean_target | (baseline) |" in table and " ± " in table
    assert "| colour_map | (baseline) |" in table

    # --score: one kept model's held-out scores beside the baselines, its cycle PSNR included.
    scores_json = tmp_path / "scores.json"
    assert bench_quality.main(["--score", str(tmp_path / "runs" / "unpaired" / "paper_s0"),
                               "--data", str(tmp_path / "data" / "unpaired"), "--json", str(scores_json)]) == 0
    scores = json.loads(scores_json.read_text())["scores"]
    assert set(scores) == {"model", "identity", "mean_target", "colour_map"}
    assert {"psnr_AtoB", "psnr_BtoA", "cycle_psnr_AtoB", "cycle_psnr_BtoA"} <= set(scores["model"])

    # --picture: the test images in rows, input | colour map | each model | target, labelled.
    from translate.data import read_image

    picture = tmp_path / "compare.png"
    runs = tmp_path / "runs" / "unpaired"
    assert bench_quality.main(["--picture", str(picture), "--data", str(tmp_path / "data" / "unpaired"),
                               "--picture-model", f"paper={runs / 'paper_s0'}",
                               "--picture-model", f"ema={runs / 'ema_s0'}", "--picture-count", "3"]) == 0
    image = read_image(picture)
    height = bench_quality.PICTURE_HEIGHT + 18  # a label band above each row's pictures
    assert image.shape[0] == 3 * height
    assert image.shape[1] == 5 * bench_quality.PICTURE_HEIGHT + 4 * 4  # five square columns, four gaps
    first_row, second_row = image[:height], image[height:2 * height]
    assert (first_row[:18] < 128).any() and not (second_row[:18] < 250).any()  # labels on the first row only
    input_cell, colour_cell = image[18:height, :128], image[18:height, 132:260]
    assert (input_cell != colour_cell).any()  # the baseline column is the mapped input, not a copy
    with pytest.raises(SystemExit, match="NAME=CHECKPOINT"):
        bench_quality.main(["--picture", str(tmp_path / "x.png"), "--data", str(tmp_path / "data" / "unpaired"),
                            "--picture-model", str(runs / "paper_s0")])
    assert not (tmp_path / "x.png").exists()


def test_colour_map_baseline_fits_pairs_and_unpaired_domains():
    """The colour_map baseline: least squares on pairs recovers a channel swap exactly; between
    unpaired domains (no image of one is a rendering of one of the other) the transport map gives
    the test inputs the target domain's mean colour."""
    import numpy as np

    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(6)]
    swapped = [p[..., ::-1].copy() for p in photos]
    out = bench_quality._colour_mapped(photos[:2], photos, swapped, paired=True)
    assert all(np.abs(o.astype(int) - s.astype(int)).max() <= 1 for o, s in zip(out, swapped[:2]))

    others = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(6)]
    toned = [np.clip(o * np.array([1.0, 0.7, 0.4]) + 20, 0, 255).astype(np.uint8) for o in others]
    out = bench_quality._colour_mapped(photos, photos, toned, paired=False)
    assert np.allclose(np.mean(out, axis=(0, 1, 2)), np.mean(toned, axis=(0, 1, 2)), atol=4)
