"""`make demo` end to end: the bundled model on the bundled images and video."""
import importlib.util
from pathlib import Path

from translate.data import read_image
from translate.video.io import probe

ROOT = Path(__file__).resolve().parents[2]


def test_demo_translates_bundled_images_and_video(tmp_path):
    spec = importlib.util.spec_from_file_location("demo", ROOT / "tools" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.main(["--out", str(tmp_path)]) == 0
    for name in ("coffee.jpg", "rocket.jpg"):
        assert read_image(tmp_path / "images" / name).shape == read_image(ROOT / "datasets" / "samples" / name).shape
    source = probe(ROOT / "datasets" / "samples" / "coffee_pan.mp4")
    for out, width in ((tmp_path / "images" / "coffee_pan.mp4", source.width),
                       (tmp_path / "coffee_pan_side_by_side.mp4", 2 * source.width)):
        info = probe(out)
        assert (info.frames, info.width, info.height) == (source.frames, width, source.height)
        assert info.audio is not None
    assert "<video" in (tmp_path / "index.html").read_text()


def test_demo_page_shows_the_models_scores_beside_the_baselines(tmp_path):
    import json

    spec = importlib.util.spec_from_file_location("demo", ROOT / "tools" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.scores_table(tmp_path) == ""  # a model folder without scores.json: no table
    scores = {"model": {"psnr_AtoB": 21.5}, "identity": {"psnr_AtoB": 19.9}, "mean_target": {"psnr_AtoB": 12.1}}
    (tmp_path / "scores.json").write_text(json.dumps({"scores": scores}))
    table = demo.scores_table(tmp_path)
    assert "<td>model</td><td>21.500</td>" in table and "<td>identity</td><td>19.900</td>" in table
