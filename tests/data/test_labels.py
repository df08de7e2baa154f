"""Label maps: reading ids exactly, one-hot and instance boundaries, layouts and the HD dataset."""
import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.hd_pairs import HDPairedDataset, find_hd_sources
from translate.data.labels import (LabelError, check_label_ids, colorize, encode_labels, find_instance_map,
                                   instance_edges, one_hot, read_label_map, scan_labels)
from translate.data.transforms import PreprocessConfig


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return path


def test_reads_8_and_16_bit_ids_exactly(tmp_path):
    ids8 = np.array([[0, 1], [34, 7]], np.uint8)
    ids16 = np.array([[0, 26001], [26002, 7]], np.uint16)
    assert np.array_equal(read_label_map(_save(tmp_path / "a.png", ids8)), ids8)
    assert np.array_equal(read_label_map(_save(tmp_path / "b.png", ids16)), ids16)  # not scaled to 8 bits


def test_reads_palette_indices_and_grey_rgb(tmp_path):
    pal = Image.fromarray(np.array([[0, 3], [2, 1]], np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9] + [0] * (256 * 3 - 12))
    pal.save(tmp_path / "p.png")
    assert np.array_equal(read_label_map(tmp_path / "p.png"), [[0, 3], [2, 1]])
    grey = np.repeat(np.array([[5, 6]], np.uint8)[..., None], 3, axis=2)
    assert np.array_equal(read_label_map(_save(tmp_path / "g.png", grey)), [[5, 6]])


def test_refuses_colour_images_and_garbage(tmp_path):
    colour = np.zeros((2, 2, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    with pytest.raises(LabelError, match=r"c\.png: a colour"):
        read_label_map(_save(tmp_path / "c.png", colour))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(LabelError, match="bad.png"):
        read_label_map(tmp_path / "bad.png")


def test_id_check_names_file_and_numbers():
    with pytest.raises(LabelError) as err:
        check_label_ids(np.array([[3, 37]]), 35, "labels/x.png")
    assert str(err.value) == "labels/x.png: label id 37 >= num_classes 35"
    check_label_ids(np.array([[0, 34]]), 35, "ok.png")


def test_scan_infers_n_and_checks(tmp_path):
    a = _save(tmp_path / "a.png", np.array([[0, 4]], np.uint8))
    b = _save(tmp_path / "b.png", np.array([[9, 1]], np.uint8))
    assert scan_labels([a, b]) == 10
    with pytest.raises(LabelError, match=r"b\.png: label id 9 >= num_classes 5"):
        scan_labels([a, b], num_classes=5)


def test_one_hot_on_hand_made_map():
    label = torch.tensor([[0, 2], [1, 2]])
    out = one_hot(label, 4)
    assert out.shape == (1, 4, 2, 2)
    assert out[0, :, 0, 1].tolist() == [0, 0, 1, 0]
    assert out[0, 3].sum() == 0 and out.sum() == 4
    with pytest.raises(ValueError, match="label id 2 >= num_classes 2"):
        one_hot(label, 2)


def test_instance_edges_on_hand_made_map():
    inst = torch.tensor([[1, 1, 1, 1],
                         [1, 5, 5, 1],
                         [1, 5, 5, 1],
                         [1, 1, 1, 1]])
    expected = torch.tensor([[0, 1, 1, 0],
                             [1, 1, 1, 1],
                             [1, 1, 1, 1],
                             [0, 1, 1, 0]], dtype=torch.float32)
    assert torch.equal(instance_edges(inst)[0, 0], expected)
    assert instance_edges(torch.full((3, 3), 7)).sum() == 0


def test_encode_adds_boundary_channel():
    label = torch.zeros(2, 1, 4, 4, dtype=torch.long)
    inst = torch.zeros(2, 1, 4, 4, dtype=torch.long)
    inst[:, :, :, 2:] = 1
    out = encode_labels(label, 3, inst)
    assert out.shape == (2, 4, 4, 4)
    assert out[:, 3, :, 1:3].eq(1).all() and out[:, 3, :, 0].eq(0).all()
    assert encode_labels(label, 3).shape == (2, 3, 4, 4)


def test_colorize_range_and_shape():
    c = colorize(torch.tensor([[[0, 1], [2, 40]]]), 35)  # ids over N are clamped for display
    assert c.shape == (1, 3, 2, 2) and c.min() >= -1 and c.max() <= 1
    assert torch.equal(c[0, :, 0, 0], torch.full((3,), -1.0))


def test_find_instance_map_conventions(tmp_path):
    label = _save(tmp_path / "test_label" / "x.png", np.zeros((2, 2), np.uint8))
    assert find_instance_map(label) is None
    inst = _save(tmp_path / "test_inst" / "x.png", np.zeros((2, 2), np.uint16))
    assert find_instance_map(label) == inst
    city = _save(tmp_path / "gt" / "a_000_gtFine_labelIds.png", np.zeros((2, 2), np.uint8))
    city_inst = _save(tmp_path / "gt" / "a_000_gtFine_instanceIds.png", np.zeros((2, 2), np.uint16))
    assert find_instance_map(city) == city_inst


def _hd_dataset(root, n=3, size=(40, 48), names=("{i}_labelIds.png", "{i}_photo.png", "{i}_instanceIds.png")):
    rng = np.random.default_rng(0)
    for i in range(n):
        label = np.zeros(size, np.uint8)
        label[:, size[1] // 2:] = 3
        label[size[0] // 2:, :] = 5
        inst = label.astype(np.uint16) * 1000
        inst[:5, :5] = 7001
        _save(root / "train_label" / names[0].format(i=i), label)
        _save(root / "train_img" / names[1].format(i=i), rng.integers(0, 255, size + (3,), dtype=np.uint8))
        _save(root / "train_inst" / names[2].format(i=i), inst)
    return root


def test_layout_matches_differently_named_files_in_sorted_order(tmp_path):
    sources = find_hd_sources(_hd_dataset(tmp_path / "d"), "train", "label")
    assert sources.layout == "pix2pixhd" and sources.has_instances and len(sources.items) == 3
    item = sources.items[1]
    assert (item.input.name, item.target.name, item.instances.name) == (
        "1_labelIds.png", "1_photo.png", "1_instanceIds.png")


def test_layout_errors_say_what_is_expected(tmp_path):
    root = _hd_dataset(tmp_path / "d")
    (root / "train_img" / "0_photo.png").unlink()
    with pytest.raises(ValueError, match="3 input files but 2 targets"):
        find_hd_sources(root, "train", "label")
    (tmp_path / "e" / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match="--set input=rgb"):
        find_hd_sources(tmp_path / "e", "train", "label")


def test_rgb_layouts(tmp_path, paired_data):
    assert find_hd_sources(paired_data, "train", "rgb").layout == "paired_ab"
    for side in ("A", "B"):
        _save(tmp_path / "hd" / f"train_{side}" / "x.png", np.zeros((8, 8, 3), np.uint8))
    assert find_hd_sources(tmp_path / "hd", "train", "rgb").layout == "pix2pixhd"


@pytest.mark.parametrize("mode", ["scale_width", "scale_width_and_crop", "resize_and_crop"])
def test_dataset_resizes_ids_nearest_and_fits_the_multiple(tmp_path, mode):
    root = _hd_dataset(tmp_path / "d")
    pre = PreprocessConfig(mode=mode, load_size=70, crop_size=32, flip=True)
    ds = HDPairedDataset(find_hd_sources(root, "train", "label"), "label", pre, num_classes=6,
                         instance_maps=True, size_multiple=8)
    item = ds[0]
    assert item["A"].dtype == torch.long and item["A"].shape[0] == 1
    assert set(item["A"].unique().tolist()) <= {0, 3, 5}  # no interpolated ids
    assert set(item["inst"].unique().tolist()) <= {0, 3000, 5000, 7001}
    assert item["A"].shape[1:] == item["B"].shape[1:] == item["inst"].shape[1:]
    assert item["A"].shape[1] % 8 == 0 and item["A"].shape[2] % 8 == 0
    ds.set_epoch(3)
    again = HDPairedDataset(find_hd_sources(root, "train", "label"), "label", pre, num_classes=6,
                            instance_maps=True, size_multiple=8)
    again.set_epoch(3)
    assert torch.equal(ds[2]["B"], again[2]["B"]) and torch.equal(ds[2]["A"], again[2]["A"])


def test_dataset_skips_a_label_with_a_too_large_id(tmp_path):
    root = _hd_dataset(tmp_path / "d")
    ds = HDPairedDataset(find_hd_sources(root, "train", "label"), "label", PreprocessConfig("crop", 32, 32),
                         num_classes=4, size_multiple=4)  # ids 5 are out of range in every file
    with pytest.raises(RuntimeError, match="every sample"):
        ds[0]
    assert any("labelIds" in p for p in ds.bad_files)


def test_a_label_map_over_max_pixels_is_refused_from_its_header(tmp_path):
    from translate.apply.inputs import LabelInput
    from translate.data.labels import LabelError, read_label_map

    path = tmp_path / "big_labelIds.png"
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(path)
    with pytest.raises(LabelError) as refused:
        read_label_map(path, max_pixels=100)
    assert str(refused.value) == f"{path}: too large: 30x20 = 600 pixels, over the limit of 100 (--max-pixels)"
    with pytest.raises(LabelError, match="too large"):
        LabelInput(num_classes=3).read(path, None, max_pixels=100)
    assert read_label_map(path, max_pixels=600).shape == (20, 30)
