"""`translate apply` on videos and mixed folders, end to end, as a user runs it."""
from pathlib import Path

import numpy as np
import pytest

from translate.cli import main
from translate.data import read_image
from video_clips import make_video, pattern, read_back


def _apply(checkpoint, src, dst, *extra):
    return main(["apply", "--checkpoint", checkpoint, "--input", str(src), "--output", str(dst),
                 "--precision", "fp32", *extra])


def test_video_keeps_frames_rate_size_and_audio(checkpoint, tmp_path, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=24, width=64, height=48, fps=24)
    out = tmp_path / "out.mp4"
    assert _apply(checkpoint, src, out) == 0
    images, pts, fps, audio_seconds, audio_codec = read_back(out)
    assert len(images) == 24 and fps == 24 and images[0].shape == (48, 64, 3)
    assert pts == read_back(src)[1]
    assert audio_codec == "aac" and audio_seconds == pytest.approx(1.0, abs=0.05)
    err = capsys.readouterr().err
    assert "libx264" in err and "frames/s" in err
    assert not list(tmp_path.glob(".*tmp*"))


def test_side_by_side_fps_and_size(checkpoint, tmp_path):
    src = make_video(tmp_path / "clip.mp4", frames=24, width=64, height=48, fps=24)
    assert _apply(checkpoint, src, tmp_path / "sbs.mp4", "--side-by-side") == 0
    images = read_back(tmp_path / "sbs.mp4")[0]
    assert len(images) == 24 and images[0].shape == (48, 128, 3)
    source = read_back(src)[0][5].astype(int)
    left, right = images[5][:, :64].astype(int), images[5][:, 64:].astype(int)
    assert np.abs(left - source).mean() < 8 < np.abs(right - source).mean()  # input | output
    assert _apply(checkpoint, src, tmp_path / "small.mkv", "--fps", "12", "--size", "32") == 0
    images, _, fps, audio_seconds, _ = read_back(tmp_path / "small.mkv")
    assert len(images) == 12 and fps == 12 and images[0].shape == (24, 32, 3)
    assert audio_seconds == pytest.approx(1.0, abs=0.06)


def test_rotated_input_is_written_upright(checkpoint, tmp_path):
    src = make_video(tmp_path / "portrait.mp4", frames=6, rotation=270)
    assert _apply(checkpoint, src, tmp_path / "out.mp4") == 0
    assert read_back(tmp_path / "out.mp4")[0][0].shape == (64, 48, 3)


def test_webm_output_reencodes_audio_it_cannot_hold_and_says_so(checkpoint, tmp_path, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=12)
    assert _apply(checkpoint, src, tmp_path / "out.webm") == 0
    images, _, _, audio_seconds, audio_codec = read_back(tmp_path / "out.webm")
    assert len(images) == 12 and audio_codec == "opus" and audio_seconds == pytest.approx(0.5, abs=0.06)
    assert "re-encoding it to libopus" in capsys.readouterr().err


def _tree(root: Path) -> Path:
    make_video(root / "a.mp4", frames=10)
    make_video(root / "nested" / "b.mkv", frames=8, audio=None)
    (root / "nested" / "still.png").parent.mkdir(parents=True, exist_ok=True)
    import cv2

    cv2.imwrite(str(root / "nested" / "still.png"), pattern(0, 40, 30)[..., ::-1])
    return root


def test_folder_mirrors_tree_and_a_rerun_after_a_kill_resumes(checkpoint, tmp_path, capsys, monkeypatch):
    root = _tree(tmp_path / "in")
    out = tmp_path / "out"
    from translate.video import encode

    real_write = encode.VideoWriter.write

    def dies_in_b(self, image, pts):  # simulate a kill half way through the second video
        if self.path.name.startswith(".b.") and self.frames_written == 4:
            raise KeyboardInterrupt
        return real_write(self, image, pts)

    monkeypatch.setattr(encode.VideoWriter, "write", dies_in_b)
    assert _apply(checkpoint, root, out) == 130
    assert (out / "a.mp4").exists() and (out / "nested" / "still.png").exists()
    assert not (out / "nested" / "b.mkv").exists()  # nothing that looks complete
    assert not list(out.rglob(".*tmp*"))  # and no temporary left behind
    (out / "nested" / ".b.stale.tmp.mkv").write_bytes(b"left by a SIGKILL")  # what a real kill leaves
    a_written = (out / "a.mp4").stat().st_mtime_ns
    monkeypatch.setattr(encode.VideoWriter, "write", real_write)
    capsys.readouterr()
    assert _apply(checkpoint, root, out) == 0
    assert "skipping 2 output(s) that already exist" in capsys.readouterr().err
    assert (out / "a.mp4").stat().st_mtime_ns == a_written
    assert len(read_back(out / "nested" / "b.mkv")[0]) == 8
    assert read_image(out / "nested" / "still.png").shape == (30, 40, 3)
    assert _apply(checkpoint, root, out, "--overwrite") == 0
    assert (out / "a.mp4").stat().st_mtime_ns != a_written


def test_bad_videos_in_a_folder_are_listed_and_the_rest_written(checkpoint, tmp_path, capsys):
    root = tmp_path / "in"
    make_video(root / "good.mp4", frames=6)
    whole = make_video(tmp_path / "whole.mkv", frames=48, audio=None).read_bytes()
    (root / "cut.mkv").write_bytes(whole[: len(whole) * 3 // 4])  # past the first keyframe, short of the end
    (root / "garbage.mov").write_bytes(b"not a movie" * 50)
    out = tmp_path / "out"
    assert _apply(checkpoint, root, out) == 1
    err = capsys.readouterr().err
    assert "2 file(s) failed" in err
    assert "garbage.mov: cannot open" in err
    assert "cut.mkv: stopped after frame" in err
    assert len(read_back(out / "good.mp4")[0]) == 6
    assert 0 < len(read_back(out / "cut.partial.mkv")[0]) < 48  # what decoded was translated
    assert not (out / "cut.mkv").exists()  # and never taken for a finished output


@pytest.mark.parametrize("make,fragment", [
    (lambda p: p.write_bytes(b"\x00" * 300), "cannot open"),
    (lambda p: None, "no such file"),
])
def test_single_bad_video_is_a_one_line_error(checkpoint, tmp_path, capsys, make, fragment):
    src = tmp_path / "bad.mp4"
    make(src)
    assert _apply(checkpoint, src, tmp_path / "out.mp4") != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert fragment in lines[-1] and "bad.mp4" in lines[-1]
    assert not (tmp_path / "out.mp4").exists()


def test_video_to_image_output_is_refused(checkpoint, tmp_path, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=2)
    assert _apply(checkpoint, src, tmp_path / "x.png") != 0
    assert "needs a video output" in capsys.readouterr().err


def test_image_side_by_side_and_tiles(checkpoint, tmp_path, capsys):
    import cv2

    cv2.imwrite(str(tmp_path / "p.png"), pattern(0, 90, 70)[..., ::-1])
    assert _apply(checkpoint, tmp_path / "p.png", tmp_path / "sbs.png", "--side-by-side") == 0
    assert read_image(tmp_path / "sbs.png").shape == (70, 180, 3)
    assert _apply(checkpoint, tmp_path / "p.png", tmp_path / "tiled.png", "--tile", "32", "--tile-overlap", "8") == 0
    assert "tiles" in capsys.readouterr().err
    assert read_image(tmp_path / "tiled.png").shape == (70, 90, 3)


def test_frames_extract_and_assemble_round_trip(tmp_path, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=24)
    frames = tmp_path / "frames"
    assert main(["frames", "extract", str(src), str(frames), "--every", "3", "--max-size", "32"]) == 0
    names = sorted(p.name for p in frames.iterdir())
    assert names[:2] == ["clip_000000.png", "clip_000003.png"] and len(names) == 8
    assert read_image(frames / names[0]).shape == (24, 32, 3)
    out = tmp_path / "back.mp4"
    assert main(["frames", "assemble", str(frames), str(out), "--fps", "8", "--audio-from", str(src)]) == 0
    images, _, fps, audio_seconds, _ = read_back(out)
    assert len(images) == 8 and fps == 8 and audio_seconds == pytest.approx(1.0, abs=0.06)
    (frames / "clip_000100.png").write_bytes(b"broken")
    assert main(["frames", "assemble", str(frames), str(tmp_path / "b2.mp4"), "--fps", "8"]) == 1
    assert "clip_000100.png" in capsys.readouterr().err


def test_frames_extract_of_a_truncated_video_keeps_what_decodes_and_fails(tmp_path, capsys):
    whole = make_video(tmp_path / "whole.mkv", frames=48, audio=None).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole[: len(whole) * 3 // 4])  # past the first keyframe, short of the end
    assert main(["frames", "extract", str(cut), str(tmp_path / "f")]) == 1
    written = len(list((tmp_path / "f").iterdir()))
    assert 0 < written < 48
    assert f"wrote {written} frame(s)" in capsys.readouterr().err
    assert main(["frames", "extract", str(tmp_path / "none.mp4"), str(tmp_path / "g")]) != 0
    assert "none.mp4: no such file" in capsys.readouterr().err.strip().splitlines()[-1]
