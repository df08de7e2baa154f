"""The benchmark tools run and report every row: tiny networks, one iteration.

These check the tools work (rows, columns, positive numbers, failures as rows), not
how fast anything is.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))

import bench_apply  # noqa: E402
import bench_train  # noqa: E402

TRAIN_CONFIGS = [c for c in bench_train.CONFIGS if c != "compile"]  # compiling takes minutes on CPU


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """One torch thread (the tools honour OMP_NUM_THREADS, children inherit it): on a busy
    2-core machine, two OpenMP threads wait on each other at every tiny op."""
    import torch

    threads = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


def _rows(path):
    return json.loads(Path(path).read_text())["rows"]


def test_bench_train_every_config_in_process(tmp_path, capsys):
    out = tmp_path / "train.json"
    code = bench_train.main(["--tiny", "--size", "32", "--device", "cpu", "--iters", "1", "--warmup", "1",
                             "--configs", ",".join(TRAIN_CONFIGS), "--in-process", "--json", str(out)])
    assert code == 0
    rows = _rows(out)
    assert [(r["translator"], r["config"]) for r in rows] == [
        (t, c) for t in bench_train.DEFAULT_TRANSLATORS for c in TRAIN_CONFIGS]
    for r in rows:
        assert "error" not in r, r
        for key in ("s_per_iter", "images_per_s", "gflop_per_iter", "gflops", "peak_mb", "speed_vs_baseline"):
            assert r[key] > 0, (key, r)
        assert r["speed_vs_reference"] is None  # FACTS.md figures are for the 256 px presets only
    batch4 = next(r for r in rows if r["translator"] == "pix2pix" and r["config"] == "batch4")
    base = next(r for r in rows if r["translator"] == "pix2pix" and r["config"] == "baseline")
    assert batch4["gflop_per_iter"] == pytest.approx(4 * base["gflop_per_iter"], rel=0.05)
    table = capsys.readouterr().out
    assert "| pix2pix | bf16_channels_last |" in table and "| cyclegan | batch4 |" in table
    assert "median" in table


def test_bench_train_child_process_and_failed_row(tmp_path, capsys):
    """The default path runs each config in a child; a config that fails is a row saying why."""
    out = tmp_path / "train.json"
    code = bench_train.main(["--tiny", "--size", "32", "--device", "cpu", "--iters", "1", "--warmup", "1",
                             "--translators", "pix2pix", "--configs", "baseline,compile",
                             "--compile-timeout", "0.01", "--json", str(out)])
    assert code == 0  # a failed compile row does not fail the run
    base, compiled = _rows(out)
    assert base["s_per_iter"] > 0 and base["peak_mb"] > 50  # a fresh process's own RSS
    assert "timed out" in compiled["error"]
    assert "| pix2pix | compile | FAILED: compile failed or too slow: timed out" in capsys.readouterr().out


def test_bench_train_reference_ratios_only_at_256_on_cpu():
    rows = [{"translator": "pix2pix", "config": "baseline", "images_per_s": 2.0, "peak_mb": 900.0, "device": "cpu"}]
    args = bench_train.build_parser().parse_args(["--size", "256"])
    bench_train.add_ratios(rows, args)
    assert rows[0]["speed_vs_reference"] == pytest.approx(2.0 * 0.764)
    assert rows[0]["memory_vs_reference"] == pytest.approx(900 / (1.8 * 1024))


def _paired_dataset(root, count, size):
    import cv2

    rng = np.random.default_rng(0)
    for split, n in (("train", count), ("test", 2)):
        (root / split).mkdir(parents=True)
        for i in range(n):
            a = cv2.resize((rng.random((6, 6, 3)) * 255).astype(np.uint8), (size, size))
            cv2.imwrite(str(root / split / f"{i}.png"), np.concatenate([a, 255 - a], axis=1))
    return root


def test_bench_train_quality(tmp_path, capsys):
    data = _paired_dataset(tmp_path / "data", 3, 32)
    out = tmp_path / "quality.json"
    tiny = ["--quality-set", "generator=unet", "--quality-set", "generator_options={num_downs: 5}",
            "--quality-set", "ngf=4", "--quality-set", "ndf=4", "--quality-set", "n_layers_d=2"]
    code = bench_train.main(["--quality", "--quality-data", str(data), "--quality-steps", "2", "--quality-size", "32",
                             "--device", "cpu", "--num-workers", "0", "--json", str(out), *tiny])
    assert code == 0
    rows = _rows(out)
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    for r in rows:
        assert r["test_images"] == 2 and r["psnr"] > 0 and -1 <= r["ssim"] <= 1 and r["s_per_step"] > 0
    table = capsys.readouterr().out
    assert "| bf16 | 2 |" in table and "PSNR vs fp32" in table


def test_bench_apply_every_config_in_process(tmp_path, capsys):
    out = tmp_path / "apply.json"
    code = bench_apply.main(["--tiny", "--size", "32", "--device", "cpu", "--images", "3", "--repeats", "1",
                             "--iters", "1", "--warmup", "1", "--in-process", "--json", str(out)])
    assert code == 0
    rows = _rows(out)
    assert [(r["model"], r["config"]) for r in rows] == [
        (m, c) for m in bench_apply.DEFAULT_MODELS for c in bench_apply.CONFIGS]
    for r in rows:
        assert "error" not in r, r
        for key in ("e2e_images_per_s", "model_images_per_s", "gflop_per_image", "gflops", "peak_mb",
                    "e2e_vs_baseline", "model_vs_baseline"):
            assert r[key] > 0, (key, r)
    assert "| cyclegan | bf16_batch4 |" in capsys.readouterr().out


def test_bench_apply_child_process(tmp_path):
    out = tmp_path / "apply.json"
    code = bench_apply.main(["--tiny", "--size", "32", "--device", "cpu", "--images", "2", "--repeats", "1",
                             "--iters", "1", "--warmup", "1", "--models", "cyclegan", "--configs", "baseline",
                             "--json", str(out)])
    assert code == 0
    (row,) = _rows(out)
    assert row["e2e_images_per_s"] > 0 and row["peak_mb"] > 50


def test_bench_train_runs_discogan_and_cogan_on_request(tmp_path):
    out = tmp_path / "train.json"
    code = bench_train.main(["--tiny", "--translators", "discogan,cogan", "--size", "32", "--device", "cpu",
                             "--iters", "1", "--warmup", "1", "--configs", "baseline", "--in-process",
                             "--json", str(out)])
    assert code == 0
    rows = _rows(out)
    assert [(r["translator"], r["config"]) for r in rows] == [("discogan", "baseline"), ("cogan", "baseline")]
    assert all("error" not in r and r["images_per_s"] > 0 for r in rows)
