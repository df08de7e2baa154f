"""`translate serve` without a browser: upload checks, the output folder, run reading, the model
cache and the handlers behind each button. The Chromium tests are in test_serve_browser.py."""
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from translate.checkpoint import GeneratorSpec, save_run
from translate.cli import main
from translate.data import read_image, write_image
from translate.eval.report import EvalReport, MetricValue
from translate.serve import ServeError, ServeOptions, exposure_warning, parse_auth
from translate.serve.handlers import Handlers
from translate.serve.models import ModelCache, ModelNotFound, discover
from translate.serve.runs import find_runs, read_eval_log, read_scalars, runs_table, sample_grids
from translate.serve.safety import OutputFolder, UploadError, UploadLimits, check_image, check_video
from translate.training.watch import Watcher
from video_clips import make_video, read_back
from pose_clips import dancer  # noqa: F401  (fixture)

DEMO = Path(__file__).resolve().parents[2] / "checkpoints" / "demo_cartoon"


def make_run(folder: Path, steps: int = 20, two_way: bool = True) -> Path:
    """A tiny CycleGAN-shaped run written by the real writers: save_run, Watcher, an eval log."""
    torch.manual_seed(0)
    specs = {d: GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, translator="cyclegan", direction=d)
             for d in (("AtoB", "BtoA") if two_way else ("AtoB",))}
    save_run(folder, {d: (s.build(), s) for d, s in specs.items()}, steps, "cyclegan")
    watcher = Watcher(folder, 0, steps, 1, tensorboard=True)
    for step in range(1, steps + 1):
        watcher.step(step, {"G_GAN": 1.0 / step, "D": 0.5}, 1)
    watcher.samples(steps // 2, 3, {"real_A": torch.zeros(1, 3, 16, 16), "fake_B": torch.ones(1, 3, 16, 16)})
    watcher.metrics(steps // 2, {"psnr": 12.5})
    watcher.close()
    reports = [EvalReport([MetricValue("psnr", 12.5, 4, True)], context={"step": steps // 2}),
               EvalReport([MetricValue("psnr", 13.25, 4, True), MetricValue("fid", 80.0, 4, False, "AtoB")],
                          context={"step": steps})]
    (folder / "eval_log.json").write_text(json.dumps([r.to_dict() for r in reports]))
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs") / "tiny")


@pytest.fixture
def image_file(tmp_path):
    rng = np.random.default_rng(0)
    return write_image(tmp_path / "photo.png", (rng.random((29, 37, 3)) * 255).astype(np.uint8))


@pytest.fixture
def handlers(run_dir, tmp_path):
    models, problems = discover([run_dir.parent])
    assert not problems
    return Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [run_dir.parent])


# --- uploads ----------------------------------------------------------------------------------

def test_check_image_reads_a_real_image(image_file):
    assert check_image(image_file, UploadLimits()).shape == (29, 37, 3)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"just some text, not pixels", "not an image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "not an image"),  # a JPEG header and nothing after it
])
def test_check_image_refuses_bad_uploads_with_a_clear_line(tmp_path, content, message):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    with pytest.raises(UploadError, match=message) as info:
        check_image(path, UploadLimits())
    assert "\n" not in str(info.value) and "upload.png" in str(info.value)


def test_check_image_refuses_oversized_files_and_pixel_counts(image_file):
    with pytest.raises(UploadError, match="upload limit"):
        check_image(image_file, UploadLimits(max_mb=0.0001))
    with pytest.raises(UploadError, match="megapixel limit"):
        check_image(image_file, UploadLimits(max_pixels=29 * 37 - 1))


def test_check_video_accepts_a_clip_and_refuses_an_image(tmp_path, image_file):
    info = check_video(make_video(tmp_path / "clip.mp4", frames=6), UploadLimits())
    assert (info.width, info.height) == (64, 48) and info.audio is not None
    with pytest.raises(UploadError, match="is an image, not a video"):
        check_video(image_file, UploadLimits())
    (tmp_path / "notes.mp4").write_text("hello")
    with pytest.raises(UploadError, match="not a video"):
        check_video(tmp_path / "notes.mp4", UploadLimits())
    with pytest.raises(UploadError, match="longer than"):
        check_video(tmp_path / "clip.mp4", UploadLimits(max_video_seconds=0.01))


# --- the output folder ------------------------------------------------------------------------

def test_output_folder_serves_only_names_it_issued(tmp_path):
    outputs = OutputFolder(tmp_path / "out")
    issued = outputs.new(".png", "../../etc/passwd")
    assert issued.parent == outputs.root and "/" not in issued.name and ".." not in issued.name
    assert outputs.resolve(issued.name) == issued
    for request in ("../secret.txt", "/etc/passwd", "x" + issued.name, str(issued)):
        with pytest.raises(UploadError):
            outputs.resolve(request)


def test_output_folder_prunes_old_results_and_cleans_up(tmp_path):
    outputs = OutputFolder(tmp_path / "out", max_age_s=60)
    old, fresh = outputs.new(".png"), outputs.new(".png")
    old.write_bytes(b"1")
    fresh.write_bytes(b"2")
    os.utime(old, (time.time() - 120, time.time() - 120))
    assert outputs.prune() == [old] and fresh.exists()
    outputs.cleanup()
    assert not outputs.root.exists()


# --- runs -------------------------------------------------------------------------------------

def test_runs_are_read_from_what_training_writes(run_dir):
    assert [r.name for r in find_runs([run_dir.parent])] == ["tiny"]
    scalars = read_scalars(run_dir)
    assert scalars["loss/G_GAN"][0] == (1, 1.0) and scalars["loss/G_GAN"][-1][0] == 20
    assert scalars["eval/psnr"] == [(10, 12.5)]
    assert scalars["eval_log/fid_AtoB"] == [(20, 80.0)]  # only in the eval log: still shown
    assert read_eval_log(run_dir) == [{"step": 10, "psnr": 12.5}, {"step": 20, "psnr": 13.25, "fid_AtoB": 80.0}]
    (step, epoch, cells), = sample_grids(run_dir)
    assert (step, epoch, [label for label, _ in cells]) == (10, 3, ["fake_B", "real_A"])


def test_runs_table_has_latest_values_per_run(run_dir, tmp_path):
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "empty_run" / "config.yaml").write_text("name: empty\n")
    headers, rows = runs_table(find_runs([run_dir.parent, tmp_path]))
    table = {row[0]: dict(zip(headers, row)) for row in rows}
    assert table["tiny"]["steps"] == 20 and table["tiny"]["psnr"] == 12.5 and table["tiny"]["G_GAN"] == 0.05
    assert table["empty_run"]["steps"] == 0 and table["empty_run"]["psnr"] == ""


def test_a_broken_eval_log_gives_no_metrics_not_an_error(tmp_path):
    run = make_run(tmp_path / "run", steps=4, two_way=False)
    (run / "eval_log.json").write_text("{not json")
    assert read_eval_log(run) == []
    assert "loss/D" in read_scalars(run)


# --- models -----------------------------------------------------------------------------------

def test_discover_describes_models_with_their_eval_metrics(run_dir):
    models, problems = discover([run_dir.parent], [DEMO])
    by_name = {m.name: m for m in models}
    assert not problems and set(by_name) == {"tiny", "demo_cartoon"}
    assert by_name["tiny"].directions == ["AtoB", "BtoA"] and by_name["demo_cartoon"].directions == ["AtoB"]
    info = by_name["tiny"].describe()
    assert info["translator"] == "cyclegan" and info["training steps"] == 20 and info["eval psnr"] == 13.25


def test_discover_reports_a_missing_checkpoint_and_skips_a_broken_one(tmp_path):
    with pytest.raises(ModelNotFound, match="no such file"):
        discover([], [tmp_path / "nope"])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "translate.json").write_text("{")
    models, problems = discover([tmp_path])
    assert models == [] and "not valid JSON" in problems[0]


def test_model_cache_loads_once_and_keeps_sizes(run_dir):
    models, _ = discover([run_dir.parent])
    cache = ModelCache(models, "cpu")
    image = (np.random.default_rng(1).random((29, 37, 3)) * 255).astype(np.uint8)
    a = cache.translate_image("tiny", image, "AtoB", "fp32")
    net = cache._nets[("tiny", "AtoB")]
    b = cache.translate_image("tiny", image, "BtoA", "fp32")
    assert a.shape == b.shape == image.shape and a.dtype == np.uint8
    assert not np.array_equal(a, b)  # two generators, two answers
    cache.translate_image("tiny", image, "AtoB", "fp32")
    assert cache._nets[("tiny", "AtoB")] is net and len(cache._nets) == 2
    assert cache.translate_image("tiny", image, "AtoB", "fp32", size=18).shape == (14, 18, 3)
    with pytest.raises(ModelNotFound):
        cache.translate_image("nope", image)


# --- handlers (what the buttons do) -----------------------------------------------------------

def test_translate_images_writes_results_and_a_zip(handlers, image_file, tmp_path):
    second = write_image(tmp_path / "second.jpg", np.full((20, 30, 3), 90, np.uint8))
    result = handlers.translate_images("tiny", [str(image_file), str(second)], None, "AtoB", "fp32", 0)
    assert result.status.startswith("Done: 2 image(s)"), result.status
    assert [read_image(t).shape for _, t in result.pairs] == [(29, 37, 3), (20, 30, 3)]
    assert all(p.parent == handlers.outputs.root for pair in result.pairs for p in pair)
    with zipfile.ZipFile(result.downloads[-1]) as archive:
        assert sorted(archive.namelist()) == sorted(t.name for _, t in result.pairs)


def test_translate_images_refuses_a_corrupt_upload_and_keeps_working(handlers, image_file, tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"GIF89a but not really")
    result = handlers.translate_images("tiny", [str(image_file), str(bad)], None, "AtoB", "auto", 0)
    assert result.status.startswith("Error: holiday.jpg: not an image") and result.pairs == []
    assert handlers.translate_images("tiny", [], None, "AtoB", "auto", 0).status.startswith("Error: no image")
    webcam = np.zeros((24, 32, 3), np.uint8)
    ok = handlers.translate_images("tiny", None, webcam, "AtoB", "auto", 0)
    assert ok.status.startswith("Done") and read_image(ok.pairs[0][1]).shape == (24, 32, 3)


def test_translate_video_keeps_frames_and_audio_and_reports_progress(handlers, tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=8)
    heard = []
    path, status = handlers.translate_video("tiny", str(clip), "AtoB", "fp32", 0, lambda f, m: heard.append(f))
    assert status.startswith("Done: 8 frames") and "audio kept" in status, status
    frames, _, _, audio_seconds, _ = read_back(path)
    assert len(frames) == 8 and frames[0].shape == (48, 64, 3) and audio_seconds == pytest.approx(8 / 24, abs=0.05)
    assert len(heard) == 8 and heard == sorted(heard) and heard[-1] < 1.0


def test_pipeline_tab_refuses_an_image_model_and_a_bad_video(handlers, tmp_path):
    bad = tmp_path / "dance.mp4"
    bad.write_bytes(b"\x00" * 100)
    assert handlers.run_pipeline("tiny", str(bad), "auto")[1].startswith("Error: dance.mp4: not a video")
    path, status = handlers.run_pipeline("nope", str(make_video(tmp_path / "c.mp4", frames=2)), "auto")
    assert path is None and "no model called 'nope'" in status


def test_runs_curves_split_losses_from_metrics(handlers):
    losses, metrics = handlers.curves("tiny")
    assert {r["series"] for r in losses} == {"G_GAN", "D"}
    assert {r["series"] for r in metrics} == {"psnr", "fid_AtoB"}
    assert handlers.samples("tiny")[0][0] == "step 10 (epoch 3)"


# --- the command ------------------------------------------------------------------------------

def test_serve_command_checks_its_arguments(capsys):
    assert main(["serve", "--auth", "nopassword"]) == 1
    assert "--auth must be USER:PASSWORD" in capsys.readouterr().err
    assert main(["serve", "--port", "0"]) == 2
    assert main(["serve", "--checkpoint", "no/such/run", "--port", "7999"]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_other_hosts_get_a_warning_and_auth_parses():
    assert exposure_warning(ServeOptions()) is None
    warning = exposure_warning(ServeOptions(host="0.0.0.0"))
    assert "reachable by other machines" in warning and "NOT password-protected" in warning
    assert "password-protected (--auth)" in exposure_warning(ServeOptions(host="0.0.0.0", auth=("u", "p")))
    assert parse_auth("user:se:cret") == ("user", "se:cret")
    with pytest.raises(ServeError):
        parse_auth(":secret")


def test_face_swap_tab_runs_the_whole_pipeline_on_a_clip(tmp_path):
    from face_clips import make_face_video

    specs = {d: GeneratorSpec("unet", 3, 3, {"ngf": 4, "num_downs": 5}, preprocess={"size": 64, "faces": True},
                              translator="faceswap", direction=d) for d in ("AtoB", "BtoA")}
    save_run(tmp_path / "swap", {d: (s.build(), s) for d, s in specs.items()}, 3, "faceswap")
    models, _ = discover([tmp_path])
    assert [(m.name, m.kind) for m in models] == [("swap", "faceswap")]
    handlers = Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [tmp_path])
    assert handlers.translate_images("swap", None, np.zeros((8, 8, 3), np.uint8), None, "auto", 0).status \
        == "Error: swap is a faceswap model: use its own tab"
    path, status = handlers.run_pipeline("swap", str(make_face_video(tmp_path / "face.mp4", frames=4)), "fp32")
    assert status.startswith("Done: face swap"), status
    frames, _, _, audio_seconds, _ = read_back(path)
    assert len(frames) == 4 and frames[0].shape == (160, 192, 3) and audio_seconds


def test_dance_tab_runs_the_whole_pipeline_on_a_clip(tmp_path, dancer):  # noqa: F811
    from pose_clips import TINY, astronaut_frames, write_clip

    assert main(["train", "pose2frame", "--data", str(dancer), "--name", "moves", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "1", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false", "flip=false"]), [])]) == 0
    models, _ = discover([tmp_path / "ck"])
    assert [(m.name, m.kind) for m in models] == [("moves", "dance")]
    handlers = Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [tmp_path])
    photo = write_image(tmp_path / "still.png", np.zeros((32, 32, 3), np.uint8))
    assert handlers.run_pipeline("moves", str(photo), "fp32")[1] == "Error: dance takes a video of someone dancing"
    source = write_clip(tmp_path / "source.mp4", astronaut_frames(4, size=48), fps=8)
    path, status = handlers.run_pipeline("moves", str(source), "fp32")
    assert status.startswith("Done: 4 frames") and "not normalised" in status, status
    frames, _, _, audio_seconds, _ = read_back(path)
    assert len(frames) == 4 and audio_seconds  # the source's moves, its timing and its sound
