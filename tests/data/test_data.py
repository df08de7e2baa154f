"""Behaviour of translate.data: robust reading, pairing, shared random transforms, determinism."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from translate.data import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    PairedDataset,
    PreprocessConfig,
    UnpairedDataset,
    build_transform,
    detect_layout,
    list_images,
    read_image,
    to_image,
    to_tensor,
    write_image,
)

SMALL = PreprocessConfig(mode="resize_and_crop", load_size=40, crop_size=32, flip=True)


def _noise(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _gradient(h, w):
    """Smooth, asymmetric content: survives JPEG well and shows any flip or rotation."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 60)], -1).astype(np.uint8)


# --- io ------------------------------------------------------------------------------------------


def test_list_images_filters_sorts_and_names_missing_folder(tmp_path):
    for name in ["b.PNG", "a.jpg", "c.txt", "d.WebP"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.tif").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "d.WebP"]
    assert [p.name for p in list_images(tmp_path, recursive=True)][-1] == "e.tif"
    assert ".tiff" in IMAGE_EXTENSIONS
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list_images(tmp_path / "nowhere")


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    rgb16 = np.zeros((4, 6, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 1] = 32896  # 128.5 * 256 -> about 128 after scaling; clipping would give 255
    rgb16[..., 2] = 1000
    cv2.imwrite(str(tmp_path / "deep.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    img = read_image(tmp_path / "deep.png")
    assert img.dtype == np.uint8 and img.shape == (4, 6, 3)
    assert tuple(img[0, 0]) == (255, 128, 4)


def test_grayscale_is_replicated_or_kept(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    write_image(tmp_path / "g.png", grey)
    rgb = read_image(tmp_path / "g.png")
    assert rgb.shape == (6, 8, 3) and (rgb == grey[..., None]).all()
    one = read_image(tmp_path / "g.png", channels=1)
    assert one.shape == (6, 8, 1) and (one[..., 0] == grey).all()


def test_rgba_is_composited_over_white_and_palette_reads(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200  # red
    rgba[:2, ..., 3] = 255  # top half opaque
    rgba[2:, ..., 3] = 0  # bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert tuple(img[0, 0]) == (200, 0, 0)
    assert tuple(img[3, 3]) == (255, 255, 255)

    Image.fromarray(_gradient(8, 8)).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (8, 8, 3)


def test_exif_orientation_is_applied(tmp_path):
    upright = _gradient(16, 32)  # landscape, colour varies left->right in red
    stored = np.rot90(upright, k=1)  # what a camera held sideways stores: portrait
    im = Image.fromarray(np.ascontiguousarray(stored))
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    im.save(tmp_path / "rot.jpg", quality=95, exif=exif)
    img = read_image(tmp_path / "rot.jpg")
    assert img.shape == (16, 32, 3)
    assert np.abs(img.astype(int) - upright).mean() < 4


def test_read_returns_rgb_not_bgr(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 255
    write_image(tmp_path / "red.png", rgb)
    assert tuple(cv2.imread(str(tmp_path / "red.png"))[0, 0]) == (0, 0, 255)  # on disk as a real red
    assert tuple(read_image(tmp_path / "red.png")[0, 0]) == (255, 0, 0)


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.png", b""),
        ("garbage.jpg", b"this is not an image at all"),
        ("missing.png", None),
    ],
)
def test_unreadable_files_raise_image_read_error_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert isinstance(info.value, ValueError)


def test_truncated_jpeg_and_png_raise(tmp_path):
    for ext in ("jpg", "png"):
        good = tmp_path / f"good.{ext}"
        write_image(good, _noise(32, 32))
        data = good.read_bytes()
        bad = tmp_path / f"cut.{ext}"
        bad.write_bytes(data[: len(data) // 2])
        with pytest.raises(ImageReadError, match="cut"):
            read_image(bad)


def test_write_is_atomic_and_creates_parents(tmp_path):
    target = tmp_path / "deep" / "er" / "out.png"
    img = _noise(8, 8)
    write_image(target, img)
    write_image(target, img[..., :1])  # overwrite in place, HxWx1 accepted
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]  # no temp files left
    assert read_image(target, channels=1).shape == (8, 8, 1)
    with pytest.raises(ValueError):
        write_image(tmp_path / "x.unknown", img)
    assert not list((tmp_path).glob("*.tmp"))
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"")
    assert target.stat().st_mode == plain.stat().st_mode  # the umask decides, not the temp file


def test_tensor_round_trip():
    img = _noise(5, 7)
    t = to_tensor(img)
    assert t.dtype == torch.float32 and t.shape == (3, 5, 7)
    assert t.min() >= -1 and t.max() <= 1
    assert (to_image(t) == img).all()
    assert (to_image(torch.full((1, 2, 2), 3.0)) == 255).all()  # clamped


# --- transforms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, expected_hw",
    [
        ("resize_and_crop", (32, 32)),
        ("crop", (32, 32)),
        ("scale_width", (28, 40)),  # 30x50 -> width 40, height 24 -> at least crop 28
        ("scale_width_and_crop", (28, 28)),
        ("none", (32, 48)),  # 30x50 rounded to the nearest multiples of 4 (12.5 rounds to even, as in pix2pix)
    ],
)
def test_preprocess_modes_shapes(mode, expected_hw):
    crop = 28 if mode.startswith("scale_width") else 32
    cfg = PreprocessConfig(mode=mode, load_size=40, crop_size=crop)
    a, mask = _noise(30, 50), np.zeros((30, 50), np.uint8)
    for train in (True, False):
        out = build_transform(cfg, train)(image=a, image_b=a[..., :1], mask=mask)
        assert out["image"].shape[:2] == out["image_b"].shape[:2] == out["mask"].shape == expected_hw
        assert out["image_b"].shape[2] == 1


def test_preprocess_config_validation():
    with pytest.raises(ValueError, match="unknown preprocess mode"):
        PreprocessConfig(mode="zoom")
    with pytest.raises(ValueError, match="crop_size"):
        PreprocessConfig(load_size=32, crop_size=64)


def test_eval_transform_is_centre_crop_without_flip():
    a = _noise(40, 40)
    cfg = PreprocessConfig(mode="crop", crop_size=32, flip=True)
    outs = [build_transform(cfg, train=False)(image=a)["image"] for _ in range(3)]
    assert all((o == a[4:36, 4:36]).all() for o in outs)


# --- paired --------------------------------------------------------------------------------------


def _make_ab_dataset(root, n=3, h=36, w=36):
    for i in range(n):
        a, b = _noise(h, w, seed=i), _noise(h, w, seed=100 + i)
        write_image(root / "train" / f"{i:02d}.png", np.concatenate([a, b], axis=1))


def test_side_by_side_split(tmp_path):
    _make_ab_dataset(tmp_path, n=1)
    ds = PairedDataset(tmp_path, preprocess=PreprocessConfig(mode="none"), train=False)
    item = ds[0]
    assert set(item) == {"A", "B", "A_path", "B_path"}
    assert (to_image(item["A"]) == _noise(36, 36, seed=0)).all()
    assert (to_image(item["B"]) == _noise(36, 36, seed=100)).all()
    assert item["A_path"] == item["B_path"] == str(tmp_path / "train" / "00.png")
    grey = PairedDataset(tmp_path, preprocess=PreprocessConfig(mode="none"), channels_a=1)[0]
    assert grey["A"].shape == (1, 36, 36) and grey["B"].shape == (3, 36, 36)


def _found_in(crop, src):
    h, w = crop.shape[:2]
    return any(
        (src[y : y + h, x : x + w] == crop).all()
        for y in range(src.shape[0] - h + 1)
        for x in range(src.shape[1] - w + 1)
    )


def test_same_random_crop_and_flip_for_a_and_b(tmp_path):
    # B == A exactly, so any difference between the outputs means A and B were transformed apart.
    for i in range(4):
        img = _noise(30, 30, seed=i)
        write_image(tmp_path / "train" / "A" / f"{i}.png", img)
        write_image(tmp_path / "train" / "B" / f"{i}.bmp", img)  # stems match, extensions differ
    ds = PairedDataset(tmp_path, preprocess=PreprocessConfig(mode="crop", crop_size=20, flip=True))
    assert ds.layout == "paired_folders"
    flipped_seen = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            assert torch.equal(item["A"], item["B"])
            assert Path(item["A_path"]).stem == Path(item["B_path"]).stem
            # Was this crop flipped? Find it in the source, plain or mirrored.
            src, crop = _noise(30, 30, seed=i), to_image(item["A"])
            plain, mirrored = _found_in(crop, src), _found_in(crop[:, ::-1], src)
            assert plain or mirrored
            flipped_seen.add(mirrored and not plain)
    assert flipped_seen == {True, False}  # flips really happened, and not always


def test_pairing_by_stem_reports_unmatched_names(tmp_path):
    for i in range(14):
        write_image(tmp_path / "train" / "A" / f"a{i:02d}.png", _noise(8, 8))
    for i in range(3):
        write_image(tmp_path / "train" / "B" / f"b{i}.jpg", _noise(8, 8))
    with pytest.raises(ValueError) as info:
        PairedDataset(tmp_path)
    message = str(info.value)
    assert "14 only in A/" in message and "3 only in B/" in message
    assert "a09" in message and "a10" not in message and "(4 more)" in message
    assert "b2" in message and "\n" not in message


def test_determinism_independent_of_call_order(tmp_path):
    _make_ab_dataset(tmp_path, n=4)
    ds = PairedDataset(tmp_path, preprocess=SMALL, seed=7)
    forward = [ds[i]["A"] for i in range(4)]
    torch.manual_seed(123)
    np.random.seed(123)
    other = PairedDataset(tmp_path, preprocess=SMALL, seed=7)
    backward = {i: other[i]["A"] for i in reversed(range(4))}
    _ = other[2], other[2]  # extra calls must not shift anything
    assert all(torch.equal(forward[i], backward[i]) for i in range(4))
    assert torch.equal(other[1]["A"], forward[1])

    ds.set_epoch(1)
    epoch1 = [ds[i]["A"] for i in range(4)]
    assert not all(torch.equal(a, b) for a, b in zip(forward, epoch1))
    ds.set_epoch(0)
    assert torch.equal(ds[3]["A"], forward[3])
    reseeded = PairedDataset(tmp_path, preprocess=SMALL, seed=8)
    assert not all(torch.equal(reseeded[i]["A"], forward[i]) for i in range(4))


def test_bad_file_is_skipped_logged_once_and_recorded(tmp_path, caplog):
    _make_ab_dataset(tmp_path, n=3)
    bad = tmp_path / "train" / "01.png"
    bad.write_bytes(b"corrupt")
    ds = PairedDataset(tmp_path, preprocess=SMALL)
    with caplog.at_level(logging.WARNING, logger="translate.data"):
        item = ds[1]
        again = ds[1]
    assert item["A_path"].endswith("02.png") and torch.equal(item["A"], again["A"])
    assert ds.bad_files == {str(bad)}
    assert [r.name for r in caplog.records] == ["translate.data"]
    assert str(bad) in caplog.records[0].getMessage()


def test_all_files_bad_is_a_clear_error(tmp_path):
    (tmp_path / "train").mkdir()
    for i in range(2):
        (tmp_path / "train" / f"{i}.png").write_bytes(b"nope")
    ds = PairedDataset(tmp_path, preprocess=SMALL)
    with pytest.raises(RuntimeError, match="every sample"):
        ds[0]


def test_empty_or_missing_folder_is_named(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match=f"no images found in {tmp_path / 'train'}"):
        PairedDataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="no images found in .*testA"):
        UnpairedDataset(tmp_path, split="test")


# --- unpaired ------------------------------------------------------------------------------------


def _make_unpaired(root, n_a=3, n_b=7):
    for i in range(n_a):
        write_image(root / "trainA" / f"a{i}.png", _noise(36, 36, seed=i))
    for i in range(n_b):
        write_image(root / "trainB" / f"b{i}.png", _noise(36, 36, c=1, seed=50 + i))


def test_unpaired_length_order_and_epoch_permutation(tmp_path):
    _make_unpaired(tmp_path)
    ds = UnpairedDataset(tmp_path, preprocess=SMALL, channels_b=1, seed=3)
    assert len(ds) == 7
    items = [ds[i] for i in range(7)]
    assert [Path(it["A_path"]).name for it in items] == [f"a{i % 3}.png" for i in range(7)]
    b_epoch0 = [it["B_path"] for it in items]
    assert sorted(b_epoch0) == sorted(str(p) for p in ds.paths_b)  # a permutation of B
    assert items[0]["B"].shape == (1, 32, 32)

    ds.set_epoch(1)
    b_epoch1 = [ds[i]["B_path"] for i in range(7)]
    assert b_epoch1 != b_epoch0

    import random

    random.seed(999)  # Python's global RNG must play no part
    again = UnpairedDataset(tmp_path, preprocess=SMALL, channels_b=1, seed=3)
    again.set_epoch(1)
    assert [again[i]["B_path"] for i in reversed(range(7))][::-1] == b_epoch1
    assert torch.equal(again[4]["B"], ds[4]["B"])


# --- layout --------------------------------------------------------------------------------------


def test_detect_layout(tmp_path):
    unpaired, ab, folders, unknown = (tmp_path / n for n in ("u", "ab", "f", "x"))
    _make_unpaired(unpaired, n_a=1, n_b=1)
    _make_ab_dataset(ab, n=1)
    write_image(folders / "train" / "A" / "0.png", _noise(8, 8))
    write_image(folders / "train" / "B" / "0.png", _noise(8, 8))
    (unknown / "images").mkdir(parents=True)
    assert detect_layout(unpaired) == "unpaired"
    assert detect_layout(ab) == "paired_ab"
    assert detect_layout(folders) == "paired_folders"
    with pytest.raises(ValueError, match="trainA/ and trainB/.*found images/"):
        detect_layout(unknown)


def test_multiprocess_loading_matches_in_process(tmp_path):
    # Workers each hold a copy of the dataset; the per-sample seeds make them agree with one process.
    _make_ab_dataset(tmp_path, n=4)
    ds = PairedDataset(tmp_path, preprocess=SMALL, seed=1)
    ds.set_epoch(2)
    direct = torch.stack([ds[i]["A"] for i in range(4)])
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    loaded = torch.cat([batch["A"] for batch in loader])
    assert torch.equal(direct, loaded)
