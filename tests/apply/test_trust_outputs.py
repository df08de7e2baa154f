"""Inputs are never touched and no file is decoded blind (issue 21): outputs planned onto an input
are refused before the model loads, every image decoder sees the size first, every request is bounded.

Each case hashes the input tree before and after: nothing the user gave may change.
"""
import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from translate.apply.batch import BatchOptions
from translate.apply.video import VideoOptions
from translate.cli import main
from translate.data import ImageReadError, read_image
from translate.errors import TranslateError
from translate.fileio import OverwriteError, refuse_overwriting_input, remove_stale_temporaries, temporary_name
from trust_corpus import smooth, write_png
from video_clips import make_video


def _apply(checkpoint, src, dst, *extra):
    return main(["apply", "--checkpoint", checkpoint, "--input", str(src), "--output", str(dst),
                 "--precision", "fp32", *extra])


def _hashes(root: Path) -> dict:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


# --- outputs never replace inputs -----------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_an_output_folder_holding_the_input_image_is_refused(checkpoint, tmp_path, capsys, extra):
    photo = write_png(tmp_path / "in" / "photo.png", smooth(0, 24, 32))
    before = _hashes(tmp_path / "in")
    assert _apply(checkpoint, photo, tmp_path / "in", *extra) == 1
    line = _one_error_line(capsys)
    assert "photo.png" in line and "input" in line
    assert _hashes(tmp_path / "in") == before


def test_an_output_folder_holding_the_input_video_is_refused(checkpoint, tmp_path, capsys):
    clip = make_video(tmp_path / "in" / "clip.mp4", frames=4, width=32, height=32)
    before = _hashes(tmp_path / "in")
    assert _apply(checkpoint, clip, tmp_path / "in" / "", "--overwrite") == 1
    assert "clip.mp4" in _one_error_line(capsys)
    assert _hashes(tmp_path / "in") == before


def test_a_nested_input_tree_cannot_map_onto_itself(checkpoint, tmp_path, capsys):
    """--input x/in --output x: x/in/in/a.png would be written to x/in/a.png, an input."""
    x = tmp_path / "x"
    write_png(x / "in" / "a.png", smooth(1, 24, 24))
    write_png(x / "in" / "in" / "a.png", smooth(2, 24, 24))
    before = _hashes(x)
    assert _apply(checkpoint, x / "in", x, "--overwrite") == 1
    line = _one_error_line(capsys)
    assert "in/a.png" in line and "inside the input folder" in line
    assert _hashes(x) == before


def test_an_output_that_is_a_link_to_the_input_is_refused(checkpoint, tmp_path, capsys):
    photo = write_png(tmp_path / "in" / "photo.png", smooth(0, 24, 32))
    (tmp_path / "link.png").symlink_to(photo)
    before = _hashes(tmp_path / "in")
    assert _apply(checkpoint, photo, tmp_path / "link.png", "--overwrite") == 1
    assert "input" in _one_error_line(capsys)
    assert _hashes(tmp_path / "in") == before


def test_the_python_api_never_writes_over_its_input(checkpoint, tmp_path):
    import translate

    clip = make_video(tmp_path / "a" / "clip.mp4", frames=4, width=32, height=32)
    photo = write_png(tmp_path / "a" / "p.png", smooth(3, 24, 24))
    before = _hashes(tmp_path / "a")
    model = translate.load(checkpoint, precision="fp32")
    with pytest.raises(OverwriteError, match="clip.mp4"):
        model.translate_video(clip, clip, progress=False)
    with pytest.raises(TranslateError, match="input"):
        model.translate_folder(tmp_path / "a", tmp_path / "a" / "out", overwrite=True)
    with pytest.raises(TranslateError, match="input"):
        model.translate_folder(photo, tmp_path / "a", overwrite=True)
    assert _hashes(tmp_path / "a") == before


def test_writes_beside_the_input_are_allowed(tmp_path):
    photo = write_png(tmp_path / "in" / "photo.png", smooth(0, 8, 8))
    refuse_overwriting_input(tmp_path / "in" / "photo_out.png", [photo])  # a sibling is fine
    refuse_overwriting_input(tmp_path / "out" / "in" / "a.png", [tmp_path / "in"])  # a mirror elsewhere
    with pytest.raises(OverwriteError):
        refuse_overwriting_input(tmp_path / "in" / ".." / "in" / "photo.png", [photo])


# --- temporaries: only the ones this toolkit provably made are ever deleted ------------------------


def test_only_provable_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / temporary_name("a.png", pid=999999999)
    live = tmp_path / temporary_name("b.png", pid=os.getpid())
    users = [tmp_path / n for n in (".draft.99999.tmp.png", ".notes.tmp", ".a.x1y2z3.999999999.tmp.png",
                                    ".a.999999999-0badc0de-12345678.tmp.png")]
    for path in (dead, live, *users):
        path.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [dead]
    assert live.exists() and all(p.exists() for p in users)


# --- one size gate before every decoder -----------------------------------------------------------


def _hdr(path: Path, width: int, height: int) -> Path:
    cv2.imwrite(str(path.with_suffix(".hdr")), np.full((height, width, 3), 0.5, np.float32))
    path.with_suffix(".hdr").rename(path)
    return path


def _pam(path: Path, width: int, height: int) -> Path:
    header = f"P7\nWIDTH {width}\nHEIGHT {height}\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n".encode()
    path.write_bytes(header + bytes(width * height * 3))
    return path


@pytest.mark.parametrize("make", [_hdr, _pam], ids=["radiance-hdr", "pam"])
@pytest.mark.parametrize("name", ["x.png", "x.jpg", "x.tif"])
def test_formats_whose_size_cannot_be_read_first_are_refused_before_decoding(tmp_path, make, name, monkeypatch):
    path = make(tmp_path / name, 100, 100)
    decoded = []
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(a) or np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(ImageReadError, match="header gives no size"):
        read_image(path, max_pixels=1000)
    with pytest.raises(ImageReadError, match="header gives no size"):
        read_image(path, max_pixels=None)  # no limit still means: know the size first
    assert not decoded


def test_a_large_hdr_in_a_folder_is_listed_and_the_rest_translated(checkpoint, tmp_path, capsys):
    write_png(tmp_path / "in" / "good.png", smooth(0, 24, 24))
    _hdr(tmp_path / "in" / "big.png", 64, 48)
    assert _apply(checkpoint, tmp_path / "in", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "big.png" in err and "header gives no size" in err
    assert (tmp_path / "out" / "good.png").exists() and not (tmp_path / "out" / "big.png").exists()


def test_a_still_image_named_as_a_video_is_refused(checkpoint, tmp_path, capsys):
    fake = tmp_path / "in" / "clip.mp4"
    write_png(tmp_path / "in" / "x.png", smooth(0, 24, 24)).rename(fake)
    assert _apply(checkpoint, fake, tmp_path / "out.mp4") == 1
    err = capsys.readouterr().err
    assert "clip.mp4" in err and "still image" in err
    assert not (tmp_path / "out.mp4").exists()


# --- requests are bounded -------------------------------------------------------------------------


@pytest.mark.parametrize("flag,value,fragment", [
    ("--max-pixels", "-1", "--max-pixels must be at least 1"),
    ("--batch-size", "100000", "--batch-size must be between 1 and 256"),
    ("--batch-size", "0", "--batch-size must be"),
    ("--size", "-5", "--size must be"),
    ("--size", "100000", "--size must be between"),
    ("--temporal", "2", "--temporal must be between 0"),
    ("--fps", "100000", "--fps must be between"),
])
def test_apply_settings_out_of_range_are_one_line(checkpoint, tmp_path, capsys, flag, value, fragment):
    write_png(tmp_path / "in" / "a.png", smooth(0, 24, 24))
    code = _apply(checkpoint, tmp_path / "in", tmp_path / "out", flag, value)
    assert code in (1, 2)
    assert fragment in _one_error_line(capsys)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_options_refuse_nan_and_out_of_range_values_from_python():
    with pytest.raises(TranslateError, match="--temporal"):
        VideoOptions(temporal=float("nan"))
    with pytest.raises(TranslateError, match="--crf"):
        VideoOptions(crf=99)
    with pytest.raises(TranslateError, match="--batch-size"):
        BatchOptions(batch_size=-1)
    assert BatchOptions(max_pixels=None).max_pixels is None  # no limit stays allowed


def test_dangling_and_looping_links_are_listed_not_passed_over(checkpoint, tmp_path, capsys):
    write_png(tmp_path / "in" / "good.png", smooth(0, 24, 24))
    (tmp_path / "in" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (tmp_path / "in" / "loop.png").symlink_to(tmp_path / "in" / "loop.png")
    assert _apply(checkpoint, tmp_path / "in", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "gone.png: a symbolic link to" in err and "does not exist" in err
    assert "loop.png: a symbolic link that loops" in err
    assert (tmp_path / "out" / "good.png").exists()
