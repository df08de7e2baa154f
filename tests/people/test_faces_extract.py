"""`translate faces extract` on a generated clip with a real face, on photos, and on bad input."""
import json

import cv2
import numpy as np
import skimage.data

from face_clips import make_face_video
from translate.cli import main
from translate.data.io import read_image, write_image


def test_extract_from_video_writes_crops_masks_and_alignments(tmp_path, capsys):
    video = make_face_video(tmp_path / "a.mp4", frames=6)
    out = tmp_path / "trainA"
    assert main(["faces", "extract", str(video), str(out), "--every", "2", "--crop-size", "64",
                 "--no-progress"]) == 0
    crops = sorted(p.name for p in out.glob("*.png"))
    assert crops == ["a_f000000.png", "a_f000002.png", "a_f000004.png"]
    for name in crops:
        crop = read_image(out / name)
        mask = read_image(out / "masks" / name, channels=1)[..., 0]
        assert crop.shape == (64, 64, 3) and mask.shape == (64, 64)
        assert mask[32, 32] > 200 and mask[0, 0] == 0  # face centre inside, corner outside
        record = json.loads((out / "alignment" / name.replace(".png", ".json")).read_text())
        assert record["crop"] == name and record["size"] == 64 and len(record["landmarks"]) == 6
        m = np.array(record["matrix"])
        eyes = np.array(record["landmarks"])[:2] @ m[:, :2].T + m[:, 2]
        assert abs(eyes[0, 1] - eyes[1, 1]) < 1e-3  # the saved transform levels the saved eyes
    assert "wrote 3 face crop(s)" in capsys.readouterr().err

    # A re-run skips what is there.
    (out / "a_f000002.png").unlink()
    assert main(["faces", "extract", str(video), str(out), "--every", "2", "--crop-size", "64",
                 "--no-progress"]) == 0
    assert "wrote 1 face crop(s)" in capsys.readouterr().err and (out / "a_f000002.png").exists()


def test_extract_from_photos_counts_those_without_a_face(tmp_path, capsys):
    photos = tmp_path / "photos"
    write_image(photos / "astronaut.jpg", skimage.data.astronaut())
    write_image(photos / "sub" / "coffee.png", skimage.data.coffee())
    rotated = cv2.rotate(skimage.data.astronaut(), cv2.ROTATE_90_CLOCKWISE)
    write_image(photos / "sub" / "tilted.png", rotated)
    out = tmp_path / "trainB"
    assert main(["faces", "extract", str(photos), str(out), "--crop-size", "48", "--no-progress"]) == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert "astronaut.png" in names and "sub_coffee.png" not in names
    err = capsys.readouterr().err
    assert "coffee.png: 0 of 1 sampled frame(s) have a face" in err


def test_extract_with_no_face_anywhere_fails_clearly(tmp_path, capsys):
    write_image(tmp_path / "in" / "coffee.png", skimage.data.coffee())
    assert main(["faces", "extract", str(tmp_path / "in"), str(tmp_path / "out"), "--no-progress"]) == 1
    assert "no face found in any sampled frame" in capsys.readouterr().err
    assert main(["faces", "extract", str(tmp_path / "missing.mp4"), str(tmp_path / "out")]) != 0
    assert "missing.mp4: no such file" in capsys.readouterr().err


def test_extract_reports_an_unreadable_file_and_goes_on(tmp_path, capsys):
    folder = tmp_path / "in"
    write_image(folder / "astronaut.png", skimage.data.astronaut())
    (folder / "broken.mp4").write_bytes(b"not a video")
    assert main(["faces", "extract", str(folder), str(tmp_path / "out"), "--crop-size", "32",
                 "--no-progress"]) == 1
    assert (tmp_path / "out" / "astronaut.png").exists()
    assert "broken.mp4" in capsys.readouterr().err
