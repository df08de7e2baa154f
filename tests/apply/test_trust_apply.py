"""Bad input never crashes a batch: each case is one line naming the file, the rest goes on, exit 1."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from translate.cli import main
from translate.data import ImageReadError, read_image
from translate.fileio import temporary_name
from trust_corpus import gif, png_header_only, smooth, write_png

ROOT = Path(__file__).resolve().parents[2]


def _apply(checkpoint, src, dst, *extra):
    return main(["apply", "--checkpoint", checkpoint, "--input", str(src), "--output", str(dst),
                 "--precision", "fp32", *extra])


def _failed_lines(err):
    return [line.strip() for line in err.split("file(s) failed:")[-1].strip().splitlines()]


def test_bad_images_in_a_folder_are_listed_and_the_rest_translated(checkpoint, tmp_path, capsys):
    src = tmp_path / "in"
    for name in ("a.png", "b.png", "z.png"):
        write_png(src / name, smooth(len(name), 24, 32))
    write_png(src / "tiny1.png", smooth(1, 1, 1))
    write_png(src / "tiny2.png", smooth(2, 2, 2))
    png_header_only(src / "bomb40k.png", 40000, 40000)  # over Pillow's and OpenCV's own limits
    png_header_only(src / "huge20k.png", 20000, 20000)
    (src / "empty.jpg").write_bytes(b"")
    out = tmp_path / "out"
    assert _apply(checkpoint, src, out) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _failed_lines(err)
    assert len(lines) == 5, lines
    by_name = {Path(line.split(":")[0]).name: line for line in lines}
    assert "too small for this model" in by_name["tiny1.png"] and "1x1" in by_name["tiny1.png"]
    assert "too small" in by_name["tiny2.png"]
    assert "1,600,000,000 pixels" in by_name["bomb40k.png"] and "--max-pixels" in by_name["bomb40k.png"]
    assert "400,000,000 pixels" in by_name["huge20k.png"]
    assert "empty" in by_name["empty.jpg"]
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "z.png"]
    # A re-run redoes only the failures, and they fail the same way: no crash half way.
    assert _apply(checkpoint, src, out) == 1
    assert len(_failed_lines(capsys.readouterr().err)) == 5


def test_max_pixels_is_read_from_the_header_before_decoding(tmp_path, monkeypatch):
    import cv2

    path = write_png(tmp_path / "x.png", smooth(0, 40, 50))
    with pytest.raises(ImageReadError, match=r"x.png: too large: 50x40 = 2,000 pixels, over the limit of 1,000"):
        monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded before the size check"))
        read_image(path, max_pixels=1000)


def test_max_pixels_flag(checkpoint, tmp_path, capsys):
    src = write_png(tmp_path / "x.png", smooth(0, 40, 50))
    assert _apply(checkpoint, src, tmp_path / "o.png", "--max-pixels", "1000") == 1
    assert "over the limit of 1,000 (--max-pixels)" in capsys.readouterr().err
    assert _apply(checkpoint, src, tmp_path / "o.png", "--max-pixels", "0") == 0


def test_max_pixels_applies_to_video_frames_at_the_size_translated(checkpoint, tmp_path, capsys):
    from video_clips import make_video

    clip = make_video(tmp_path / "in" / "clip.mp4", frames=3, width=64, height=48, audio=None)
    write_png(tmp_path / "in" / "small.png", smooth(0, 16, 16))
    assert _apply(checkpoint, tmp_path / "in", tmp_path / "out", "--max-pixels", "1000") == 1
    err = capsys.readouterr().err
    assert f"{clip}: frames too large: 64x48 = 3,072 pixels, over the limit of 1,000" in err
    assert (tmp_path / "out" / "small.png").exists() and not (tmp_path / "out" / "clip.mp4").exists()
    assert _apply(checkpoint, clip, tmp_path / "o.mp4", "--max-pixels", "1000", "--size", "32") == 0


def test_opencv_refusal_is_an_image_read_error(tmp_path):
    path = png_header_only(tmp_path / "bomb.png", 40000, 40000)
    with pytest.raises(ImageReadError, match="bomb.png"):
        read_image(path, max_pixels=None)


def test_single_unreadable_kinds_are_one_line_and_fail(checkpoint, tmp_path, capsys):
    assert _apply(checkpoint, gif(tmp_path / "anim.gif"), tmp_path / "o") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "anim.gif: not an image or video" in err[0]


def test_unwritable_output_extension_is_refused_before_the_model_runs(checkpoint, tmp_path, capsys, monkeypatch):
    import translate.apply.batch

    src = write_png(tmp_path / "x.png", smooth(0, 16, 16))
    monkeypatch.setattr(translate.apply.batch, "run_batch", lambda *a, **k: pytest.fail("model ran"))
    assert _apply(checkpoint, src, tmp_path / "out.xyz") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out.xyz: cannot write images with the suffix '.xyz'" in err[0]


def test_unlistable_subfolder_is_reported_and_the_rest_translated(checkpoint, tmp_path, capsys, monkeypatch):
    src = tmp_path / "in"
    write_png(src / "ok.png", smooth(0, 16, 16))
    write_png(src / "locked" / "hidden.png", smooth(1, 16, 16))
    real_scandir = os.scandir

    def scandir(path="."):  # chmod 000 does not stop root, who runs some CI: refuse as the kernel would
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert _apply(checkpoint, src, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "locked: cannot list this folder (Permission denied)" in err
    assert (tmp_path / "out" / "ok.png").exists()


@pytest.mark.parametrize("command", ["apply", "train"])
def test_unknown_device_is_one_line(command, checkpoint, tmp_path, capsys):
    src = write_png(tmp_path / "x.png", smooth(0, 16, 16))
    argv = (["apply", "--checkpoint", checkpoint, "--input", str(src), "--output", str(tmp_path / "o.png")]
            if command == "apply" else ["train", "cyclegan", "--data", str(tmp_path), "--checkpoints-dir",
                                        str(tmp_path / "ck2")])
    assert main([*argv, "--device", "gpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"translate {command}: error: --device gpu: unknown device (use auto, cpu, cuda or cuda:N)"]


def test_auto_tiles_before_running_when_the_frame_would_not_fit(checkpoint, tmp_path, capsys, monkeypatch):
    from translate.apply import memory
    from translate.apply.tiling import TilingNet

    monkeypatch.setattr(memory, "available_bytes", lambda device: 4 * 2**20)  # 4 MiB left
    seen = []
    real_forward = TilingNet.forward

    def forward(self, x):
        if not seen:  # record what the generator itself receives
            inner = self.net.forward
            self.net.forward = lambda t: (seen.append(tuple(t.shape[-2:])), inner(t))[1]
        return real_forward(self, x)

    monkeypatch.setattr(TilingNet, "forward", forward)
    src = write_png(tmp_path / "big.png", smooth(0, 520, 600))
    assert _apply(checkpoint, src, tmp_path / "o.png") == 0
    err = capsys.readouterr().err
    assert "600x520 frames need about" in err and "translating in 512 px tiles" in err
    assert seen and max(max(s) for s in seen) <= 512  # never the whole frame
    assert read_image(tmp_path / "o.png").shape == (520, 600, 3)


def test_stale_temporaries_in_the_output_are_removed(checkpoint, tmp_path):
    src = write_png(tmp_path / "in" / "x.png", smooth(0, 16, 16))
    out = tmp_path / "out"
    out.mkdir()
    dead = out / temporary_name("clip.mp4", pid=999999999)  # its writer is gone
    live = out / temporary_name("y.png", pid=os.getppid())  # another process is writing it
    # The user's own hidden files that merely look like temporaries, hours old: never ours to delete.
    lookalikes = [out / ".draft.99999.tmp.png", out / ".notes.tmp", out / ".clip.abcd12.999999999.tmp.mp4",
                  out / ".clip.999999999-abcdef01-00000000.tmp.mp4"]  # the right shape, a wrong tag
    for path in (dead, live, *lookalikes):
        path.write_bytes(b"half")
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    assert _apply(checkpoint, src.parent, out) == 0
    assert not dead.exists() and live.exists()
    assert all(path.read_bytes() == b"half" for path in lookalikes)


def _apply_process(checkpoint, src, out, *extra):
    cmd = [sys.executable, "-m", "translate", "apply", "--checkpoint", checkpoint, "--input", str(src),
           "--output", str(out), "--precision", "fp32", "--batch-size", "1", *extra]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _finished(out):
    return {p.name: p for p in out.glob("*.png") if not p.name.startswith(".")}  # not the temporaries


def _folder_of_images(root, n, size=48):
    for i in range(n):
        write_png(root / f"{i:03d}.png", smooth(i, size, size))
    return root


def test_kill_9_then_rerun_writes_exactly_the_missing_outputs(checkpoint, tmp_path, capsys):
    n, size = 60, 96  # enough work that the kill lands half way on a fast machine too
    src = _folder_of_images(tmp_path / "in", n, size)
    out = tmp_path / "out"
    proc = _apply_process(checkpoint, src, out)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(_finished(out)) < 3:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    done = {name: p.stat().st_mtime_ns for name, p in _finished(out).items()}
    assert 0 < len(done) < n, f"the kill should land half way ({len(done)} of {n} written)"
    for name in done:
        assert read_image(out / name).shape == (size, size, 3)  # no half file under a final name
    assert _apply(checkpoint, src, out, "--batch-size", "1") == 0
    err = capsys.readouterr().err
    assert f"wrote {n - len(done)} file(s)" in err and f"skipped {len(done)} existing" in err
    assert sorted(_finished(out)) == [f"{i:03d}.png" for i in range(n)]
    assert all((out / name).stat().st_mtime_ns == t for name, t in done.items())  # finished ones untouched
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # the killed run's temporary is gone


def test_two_apply_processes_on_one_output_folder_leave_no_half_files(checkpoint, tmp_path):
    src = _folder_of_images(tmp_path / "in", 30)
    out = tmp_path / "out"
    procs = [_apply_process(checkpoint, src, out) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [f"{i:03d}.png" for i in range(30)]
    for path in out.iterdir():
        assert read_image(path).shape == (48, 48, 3)


def _faststart_mp4(path, frames=24):
    """An mp4 with its index at the start (as phones and web exports write them)."""
    import av

    from video_clips import pattern

    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(pattern(i, 64, 48), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_partly_decodable_video_is_never_taken_for_a_finished_output(checkpoint, tmp_path, capsys):
    whole = _faststart_mp4(tmp_path / "whole.mp4").read_bytes()
    src = tmp_path / "in" / "cut.mp4"
    src.parent.mkdir()
    src.write_bytes(whole[: len(whole) * 9 // 10])  # x264's first packets need later ones: cut late
    out = tmp_path / "out"
    for _ in range(2):  # the re-run tries again instead of skipping a partial output
        assert _apply(checkpoint, src.parent, out) == 1
        err = capsys.readouterr().err
        assert "skipping" not in err and "cut.mp4:" in err
    assert not (out / "cut.mp4").exists()
    # What decoded was translated, under a name that says so.
    assert (out / "cut.partial.mp4").exists() and "stopped after frame" in err and "cut.partial.mp4" in err
