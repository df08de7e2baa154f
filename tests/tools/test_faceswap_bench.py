"""tools/bench_faceswap.py runs end to end on a tiny clip and reports every stage."""
import importlib.util
import json
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bench_faceswap.py"


def test_bench_faceswap_reports_speed_and_stages(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_faceswap", TOOL)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--frames", "4", "--width", "192", "--height", "128", "--tiny", "--batch-size", "2",
                       "--crop-size", "64", "--precision", "fp32", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["frames"] == 4 and report["faces_swapped"] == 4
    assert set(report["stage_seconds"]) >= {"detect", "align", "translate", "blend", "decode", "encode"}
    assert report["pipeline_frames_per_s"] > 0 and report["naive_frames_per_s"] > 0
