"""tools/bench_quality.py: variants trained at equal steps with a fixed seed, then measured."""
import json
import shutil
import sys
from pathlib import Path

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
