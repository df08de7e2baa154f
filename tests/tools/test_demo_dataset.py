"""datasets/make_demo_dataset.py: layout, sizes, held-out test split and determinism (small runs)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from translate.data import PairedDataset, PreprocessConfig, detect_layout, read_image

SCRIPT = Path(__file__).resolve().parents[2] / "datasets" / "make_demo_dataset.py"


@pytest.fixture(scope="module")
def demo():
    spec = importlib.util.spec_from_file_location("make_demo_dataset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _build(demo, out, seed=0, count=6, samples=True):
    args = ["--out", str(out), "--size", "32", "--count", str(count), "--test-count", "2", "--seed", str(seed)]
    args += ["--samples-dir", str(out / "samples") if samples else ""]
    return demo.main(args)


def test_layout_sizes_and_held_out_split(demo, tmp_path, capsys):
    written = _build(demo, tmp_path / "d")
    assert "wrote 6 train pairs" in capsys.readouterr().out
    assert len(written["train"]) == 6 and len(written["test"]) == 2
    for path in written["train"] + written["test"]:
        assert read_image(path).shape == (32, 64, 3)  # A|B side by side
    assert all(any(p in path.name for p in demo.HELD_OUT_PHOTOS) for path in written["test"])
    assert not set(demo.HELD_OUT_PHOTOS) & set(demo.TRAIN_PHOTOS)

    assert detect_layout(tmp_path / "d") == "paired_ab"
    item = PairedDataset(tmp_path / "d", preprocess=PreprocessConfig(mode="none"), train=False)[0]
    assert item["A"].shape == item["B"].shape == (3, 32, 32)
    assert not np.array_equal(item["A"].numpy(), item["B"].numpy())  # B really is a different image

    assert len(written["samples"]) >= 4
    for path in written["samples"]:
        assert path.suffix == ".jpg" and path.stat().st_size < 40_000
        assert max(read_image(path).shape[:2]) == demo.SAMPLE_LONG_SIDE


def test_deterministic_given_seed_and_rerun_replaces_files(demo, tmp_path):
    first = _build(demo, tmp_path / "a", samples=False)
    second = _build(demo, tmp_path / "b", samples=False)
    other = _build(demo, tmp_path / "c", seed=1, samples=False)
    names = lambda paths: [p.name for p in paths]  # noqa: E731
    assert names(first["train"]) == names(second["train"])
    pairs = zip(first["train"] + first["test"], second["train"] + second["test"])
    assert all(p.read_bytes() == q.read_bytes() for p, q in pairs)
    assert any(p.read_bytes() != q.read_bytes() for p, q in zip(first["train"], other["train"]))

    _build(demo, tmp_path / "a", count=3, samples=False)
    assert len(list((tmp_path / "a" / "train").glob("*.png"))) == 3  # no stale pairs left behind


def test_cartoonize_is_deterministic_and_flattens(demo):
    photo = demo.load_photo("chelsea")[:64, :64]
    out = demo.cartoonize(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(out, demo.cartoonize(photo))
    assert len(np.unique(out.reshape(-1, 3), axis=0)) < len(np.unique(photo.reshape(-1, 3), axis=0))


def test_richer_data_more_photos_and_scales_same_test_split(demo, tmp_path):
    base = _build(demo, tmp_path / "base", samples=False)
    rich = demo.main(["--out", str(tmp_path / "rich"), "--size", "32", "--count", "8", "--test-count", "2",
                      "--samples-dir", "", "--photos", "astronaut,camera", "--scales", "1,3"])
    names = sorted(p.name for p in rich["train"])
    assert {n.split("_", 2)[2].removesuffix(".png") for n in names} == {"astronaut", "camera"}
    grey = read_image(next(p for p in rich["train"] if "camera" in p.name))[:, :32]
    assert np.array_equal(grey[..., 0], grey[..., 1])  # a greyscale photo comes as grey RGB
    # The test split is a function of the seed only: richer training data keeps scores comparable.
    for a, b in zip(base["test"], rich["test"]):
        assert np.array_equal(read_image(a), read_image(b))
    with pytest.raises(SystemExit):
        demo.main(["--out", str(tmp_path / "x"), "--photos", "coffee", "--samples-dir", ""])


def test_unpaired_layout_and_photos_from_installed_packages(demo, tmp_path, capsys):
    """--unpaired: CycleGAN's trainA/ and trainB/ (cartoons of other crops), a paired test split;
    the package photos (a tower under a blue sky, ...) load from the installed wheels, offline."""
    out = tmp_path / "u"
    written = demo.main(["--out", str(out), "--size", "32", "--count", "6", "--test-count", "2", "--samples-dir", "",
                         "--photos", "astronaut,tower,grace_hopper", "--unpaired"])
    assert "unpaired images" in capsys.readouterr().out
    assert detect_layout(out) == "unpaired"
    a, b = sorted((out / "trainA").glob("*.png")), sorted((out / "trainB").glob("*.png"))
    assert len(a) == len(b) == 6 and len(written["train"]) == 12
    assert not (out / "train").exists()
    photos = [read_image(p) for p in a]
    assert not any(any(np.array_equal(demo.cartoonize(x), read_image(y)) for y in b) for x in photos)  # no A has its B
    assert all(read_image(p).shape == (32, 64, 3) for p in written["test"])  # paired: both directions scored
    tower = demo.load_photo("tower")
    assert tower.ndim == 3 and tower.shape[2] == 3 and tower.dtype == np.uint8
    with pytest.raises(SystemExit, match="not installed"):
        demo.PACKAGE_PHOTOS["nope"] = ("no_such_package_xyz", "x.jpg")
        try:
            demo.load_photo("nope")
        finally:
            del demo.PACKAGE_PHOTOS["nope"]


def test_comic_rendering_tones_the_cartoon_and_is_a_dataset_choice(demo, tmp_path):
    """--rendering comic: B is the cartoon toned like an old print (warm, between paper black and
    paper white), so it differs from the photo in colour as well as in structure."""
    photo = demo.load_photo("astronaut")[:64, :64]
    comic = demo.comic(photo)
    assert comic.shape == photo.shape and comic.dtype == np.uint8
    assert np.array_equal(comic, demo.comic(photo))
    style = demo.ComicStyle()
    assert comic.min() >= np.floor(style.paper_black) and comic.max() <= np.ceil(style.paper_white)
    toned = comic.reshape(-1, 3).astype(float).mean(axis=0)
    assert toned[0] > toned[2]  # sepia: red above blue on average
    assert np.abs(comic.astype(float) - demo.cartoonize(photo)).mean() > 10  # not the plain cartoon
    written = demo.main(["--out", str(tmp_path / "c"), "--size", "32", "--count", "2", "--test-count", "1",
                         "--samples-dir", "", "--rendering", "comic"])
    pair = read_image(written["test"][0])
    assert np.array_equal(pair[:, 32:], demo.comic(pair[:, :32]))  # B is the comic of A
    assert set(demo.RENDERINGS) >= {"cartoon", "comic"}
