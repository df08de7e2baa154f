"""`make demo` end to end: the bundled model on the bundled images and video."""
import importlib.util
from pathlib import Path

import numpy as np

from translate.data import read_image
from translate.video.io import probe

ROOT = Path(__file__).resolve().parents[2]


def _two_way_model(folder):
    """A tiny CycleGAN run folder (both directions), standing in for an unpaired demo model."""
    from translate.checkpoint import GeneratorSpec, save_run

    specs = {d: GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", d)
             for d in ("AtoB", "BtoA")}
    save_run(folder, {d: (spec.build(), spec) for d, spec in specs.items()}, step=1, translator="cyclegan")
    (folder / "scores.json").write_text('{"scores": {"model": {"psnr_AtoB": 20.5, "psnr_BtoA": 19.5}, '
                                        '"identity": {"psnr_AtoB": 19.9, "psnr_BtoA": 19.9}}}')
    return folder


def test_demo_translates_bundled_images_and_video(tmp_path):
    spec = importlib.util.spec_from_file_location("demo", ROOT / "tools" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    cyclegan = _two_way_model(tmp_path / "cyclegan_model")
    out = tmp_path / "out"
    assert demo.main(["--out", str(out), "--pictures", str(tmp_path / "docs"), "--cyclegan", str(cyclegan)]) == 0
    assert demo.main(["--out", str(tmp_path / "x"), "--cyclegan", str(tmp_path / "missing")]) == 1  # named: must exist
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == [
        "demo_cyclegan_AtoB.png", "demo_cyclegan_BtoA.png", "demo_pix2pix.png"]
    tmp_path = out
    for name in ("coffee.jpg", "rocket.jpg"):
        assert read_image(tmp_path / "images" / name).shape == read_image(ROOT / "datasets" / "samples" / name).shape
    source = probe(ROOT / "datasets" / "samples" / "coffee_pan.mp4")
    for out, width in ((tmp_path / "images" / "coffee_pan.mp4", source.width),
                       (tmp_path / "coffee_pan_side_by_side.mp4", 2 * source.width)):
        info = probe(out)
        assert (info.frames, info.width, info.height) == (source.frames, width, source.height)
        assert info.audio is not None
    page = (tmp_path / "index.html").read_text()
    assert "<video" in page
    # Both bundled models, the unpaired one both ways, each with its picture and held-out scores.
    for slug, direction in (("pix2pix", "AtoB"), ("cyclegan_AtoB", "AtoB"), ("cyclegan_BtoA", "BtoA")):
        assert (tmp_path / f"demo_{slug}.png").is_file() and f"demo_{slug}.png" in page
        assert f"psnr_{direction}" in page
    for name in ("coffee", "rocket"):
        photo = read_image(ROOT / "datasets" / "samples" / f"{name}.jpg")
        assert read_image(tmp_path / "cyclegan_AtoB" / f"{name}.png").shape == photo.shape
        assert read_image(tmp_path / "cyclegan_BtoA" / f"{name}.png").shape == photo.shape
        # B -> A inputs: the held-out photo drawn by the rendering the model's B side was trained on.
        drawn = read_image(tmp_path / "comic_inputs" / f"{name}.png")
        assert np.array_equal(drawn, demo.renderings()["comic"](photo))
    assert "comic → photo" in page and "photo → comic" in page and "photo → cartoon" in page


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
    scores["model"]["psnr_BtoA"] = 18.0
    (tmp_path / "scores.json").write_text(json.dumps({"scores": scores}))
    assert "18.000" in demo.scores_table(tmp_path, "BtoA") and "21.500" not in demo.scores_table(tmp_path, "BtoA")
