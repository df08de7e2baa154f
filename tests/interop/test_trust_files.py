"""Files the user did not ask for are not touched."""
from translate.cli import main

from test_interop_download import _closed_port_url


def test_download_offline_leaves_no_empty_folder(tmp_path, capsys):
    assert main(["download", "zebra2horse", "--url", _closed_port_url(), "--checkpoints-dir", str(tmp_path / "ck")]) == 1
    assert "by hand" in capsys.readouterr().err
    assert not (tmp_path / "ck").exists()
    assert main(["apply", "--checkpoint", str(tmp_path / "ck" / "zebra2horse"), "--input", str(tmp_path),
                 "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "zebra2horse" in err[0] and "no such" in err[0]


def test_eval_json_is_named_by_split_and_dataset_and_skips_git_tracked_folders(tmp_path):
    import subprocess

    from translate.eval.evaluate import default_json_path

    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    (run / "translate.json").write_text("{}")
    assert default_json_path(run, "test", tmp_path / "facades") == run / "eval_test_facades.json"
    subprocess.run(["git", "init", "-q", str(tmp_path / "runs")], check=True)
    subprocess.run(["git", "-C", str(tmp_path / "runs"), "add", "r/translate.json"], check=True)
    assert default_json_path(run, "test", tmp_path / "facades") is None  # tracked: only with --json


def test_demo_page_links_its_inputs_by_relative_paths(tmp_path, monkeypatch):
    import importlib.util
    import re
    from pathlib import Path

    import numpy as np

    from trust_corpus import write_png

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("demo", root / "tools" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    samples = tmp_path / "samples"
    write_png(samples / "a.png", np.full((16, 16, 3), 90, np.uint8))
    out = tmp_path / "out"
    assert demo.main(["--out", str(out), "--samples", str(samples)]) == 0
    sources = re.findall(r"src='([^']+)'", (out / "index.html").read_text())
    assert sources and not any(s.startswith("/") for s in sources)
    assert all((out / s).exists() for s in sources)
