"""The Python API refuses what it cannot translate in one TranslateError, and never guesses (issue 21)."""
import numpy as np
import pytest
import torch
from PIL import Image

import translate
from translate.errors import TranslateError


@pytest.fixture
def model(checkpoint):
    return translate.load(checkpoint, precision="fp32")


@pytest.mark.parametrize("shape", [(0, 0, 3), (1, 1, 3), (1, 40, 3), (0, 5)])
def test_empty_and_tiny_arrays_are_one_translate_error(model, shape):
    with pytest.raises(TranslateError, match="cannot translate a"):
        model(np.zeros(shape, np.uint8))


def test_an_image_too_small_for_the_network_is_a_translate_error(model):
    """2x2 passes the API's own bound but not instance norm after two stride-2 levels."""
    with pytest.raises(TranslateError, match="cannot translate this 2x2 image"):
        model(np.zeros((2, 2, 3), np.uint8))


def test_a_palette_image_is_translated_from_its_colours_not_its_indices(model):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:, 8:] = (250, 30, 30)
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    assert np.array_equal(np.asarray(model(palette)), np.asarray(model(Image.fromarray(rgb))))


def test_a_cmyk_image_is_translated_as_the_rgb_it_shows(model):
    rgb = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    expected = model(Image.fromarray(np.asarray(cmyk.convert("RGB"))))
    assert np.array_equal(np.asarray(model(cmyk)), np.asarray(expected))


def test_sixteen_bit_pil_images_are_refused_in_one_line(model):
    with pytest.raises(TranslateError, match="mode 'I;16'"):
        model(Image.fromarray(np.zeros((8, 8), np.uint16)))


def test_a_uint8_tensor_is_refused_not_read_as_minus_one_to_one(model):
    with pytest.raises(TranslateError, match="float tensor in \\[-1, 1\\], got torch.uint8"):
        model(torch.zeros(3, 16, 16, dtype=torch.uint8))


def test_translate_folder_runs_as_readme_shows(model, tmp_path):
    from trust_corpus import smooth, write_png

    write_png(tmp_path / "photos" / "a.png", smooth(0, 24, 32))
    report = model.translate_folder(tmp_path / "photos", tmp_path / "cartoons")
    assert report.ok and [p.name for p in report.written] == ["a.png"]
