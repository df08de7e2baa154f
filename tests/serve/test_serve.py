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
from translate.pipelines.registry import FACE, IMAGE, POSE_SEQUENCE, Input, Pipeline, PipelineJob
from translate.serve import ServeError, ServeOptions, exposure_warning, page_address, parse_auth
from translate.serve.domains import read_domains
from translate.serve.handlers import Handlers
from translate.serve.models import ModelCache, ModelNotFound, discover
from translate.serve.requests import RequestError, parse_size
from translate.serve.runs import find_runs, read_eval_log, read_scalars, runs_table, sample_grids
from translate.serve.safety import OutputFolder, UploadError, UploadLimits, check_image, check_video
from translate.training.watch import Watcher
from video_clips import make_video, read_back
from pose_clips import dancer  # noqa: F401  (fixture)

DEMO = Path(__file__).resolve().parents[2] / "checkpoints" / "demo_cartoon"
DEMO_COMIC = DEMO.parent / "demo_comic"
# Headers Pillow cannot size but OpenCV decodes: a 9000x9000 Radiance HDR and PAM, a few bytes each.
HDR_9000 = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 9000 +X 9000\n" + b"\x02\x02\x23\x28" * 64
PAM_9000 = b"P7\nWIDTH 9000\nHEIGHT 9000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" + b"\x00" * 256


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
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "truncated"),  # a JPEG header and nothing after it
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
    with pytest.raises(UploadError, match=r"^photo.png: too large: 37x29 = 1,073 pixels, over the limit of 1,072"):
        check_image(image_file, UploadLimits(max_pixels=29 * 37 - 1))


@pytest.mark.parametrize("content", [HDR_9000, PAM_9000], ids=["radiance-hdr", "pam"])
def test_check_image_refuses_a_header_it_cannot_size_before_decoding(tmp_path, content):
    path = tmp_path / "big.png"  # named .png, as the report's upload was
    path.write_bytes(content)
    started = time.perf_counter()
    with pytest.raises(UploadError) as info:
        check_image(path, UploadLimits())
    assert str(info.value).startswith("big.png: ") and "\n" not in str(info.value)
    assert time.perf_counter() - started < 2.0  # refused from the header, not after decoding 81 MP


def test_check_image_decodes_only_through_read_image_with_the_servers_limit(image_file, monkeypatch):
    import translate.data

    seen = []
    real = translate.data.read_image

    def spy(path, channels=3, max_pixels=None):
        seen.append(max_pixels)
        return real(path, channels=channels, max_pixels=max_pixels)

    monkeypatch.setattr(translate.data, "read_image", spy)
    check_image(image_file, UploadLimits(max_pixels=12345))
    assert seen == [12345]


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
    with pytest.raises(UploadError, match="24 frames per second is over the 10 fps limit"):
        check_video(tmp_path / "clip.mp4", UploadLimits(max_fps=10))
    with pytest.raises(UploadError, match="6 frames is over the 5 frame limit"):
        check_video(tmp_path / "clip.mp4", UploadLimits(max_video_frames=5))
    (tmp_path / "nothing.mp4").write_bytes(b"")
    with pytest.raises(UploadError, match="empty"):
        check_video(tmp_path / "nothing.mp4", UploadLimits())


# --- request parameters -----------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (0, None), (None, None), ("", None), ("0", None), (0.0, None), (512, 512), (512.0, 512), (" 64 ", 64),
    (16, 16), (4096, 4096),
])
def test_parse_size_accepts_what_the_page_sends(value, expected):
    assert parse_size(value, UploadLimits()) == expected


@pytest.mark.parametrize("value", [-5, 8, 15, 4097, 8192, 10**30, "abc", "1e400", 1.5, float("nan"), float("inf"),
                                   True, [512], {"size": 1}])
def test_parse_size_refuses_anything_else_in_one_line(value):
    with pytest.raises(RequestError) as info:
        parse_size(value, UploadLimits())
    assert str(info.value).startswith("size must be") and "\n" not in str(info.value)


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


def test_a_runs_checkpoint_history_is_not_a_run_or_a_model(tmp_path):
    from translate.run_history import record_history

    run = make_run(tmp_path / "tiny", steps=12, two_way=False)
    assert record_history(run, keep_last=2) == run / "steps" / "12"
    for roots in ([tmp_path], [run]):  # the runs folder, or the run itself given as --runs
        assert [r.name for r in find_runs(roots)] == ["tiny"]
        models, problems = discover(roots)
        assert [m.name for m in models] == ["tiny"] and not problems


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


def test_model_menus_say_what_a_and_b_are(run_dir):
    models, _ = discover([run_dir.parent], [DEMO, DEMO_COMIC])
    by_name = {m.name: m for m in models}
    assert by_name["demo_cartoon"].label == "demo_cartoon (photo -> cartoon)"
    assert by_name["demo_comic"].label == "demo_comic (photo <-> comic)"
    assert by_name["demo_comic"].direction_choices() == [("photo -> comic", "AtoB"), ("comic -> photo", "BtoA")]
    assert by_name["tiny"].label == "tiny (A <-> B)"  # nothing in the run names them
    assert ModelCache(models, "cpu").choices()[0] == (by_name["tiny"].label, "tiny")


def test_domain_names_come_from_metadata_then_notes_then_the_dataset_name(tmp_path):
    run = make_run(tmp_path / "run", steps=2, two_way=False)
    assert read_domains(run) == ("A", "B")
    (run / "config.yaml").write_text("translator: cyclegan\ntrain:\n  data: datasets/horse2zebra\n")
    assert read_domains(run) == ("horse", "zebra")
    (run / "TRAINING.md").write_text("# Maps: satellite -> map\n")
    assert read_domains(run) == ("satellite", "map")
    meta = json.loads((run / "translate.json").read_text())
    (run / "translate.json").write_text(json.dumps({**meta, "domains": {"A": "day", "B": "night"}}))
    assert read_domains(run) == ("day", "night")
    assert read_domains(run / "generator_AtoB.safetensors") == ("A", "B")


def test_a_torchscript_export_is_skipped_with_one_clear_line(tmp_path):
    traced = torch.jit.trace(torch.nn.Conv2d(3, 3, 1), torch.zeros(1, 3, 8, 8))
    torch.jit.save(traced, str(tmp_path / "model.pt"))
    models, problems = discover([], [tmp_path / "model.pt"])
    assert models == [] and len(problems) == 1 and "\n" not in problems[0]
    assert "TorchScript export cannot be loaded or served" in problems[0] and ".safetensors" in problems[0]
    assert "weights_only" not in problems[0]  # not torch's own message


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
    result = handlers.translate_images("tiny", [str(bad)], None, "AtoB", "auto", 0)
    assert result.status.startswith("Error: holiday.jpg: not an image") and result.pairs == []
    assert handlers.translate_images("tiny", [], None, "AtoB", "auto", 0).status.startswith("Error: no image")
    webcam = np.zeros((24, 32, 3), np.uint8)
    ok = handlers.translate_images("tiny", None, webcam, "AtoB", "auto", 0)
    assert ok.status.startswith("Done") and read_image(ok.pairs[0][1]).shape == (24, 32, 3)
    as_file = handlers.translate_images("tiny", None, str(image_file), "AtoB", "auto", 0)  # the page sends a path
    assert as_file.status.startswith("Done") and read_image(as_file.pairs[0][1]).shape == (29, 37, 3)


def test_bad_files_in_a_batch_are_listed_and_the_good_ones_translated(handlers, image_file, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("a shopping list, not a photo")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    hdr = tmp_path / "huge.png"
    hdr.write_bytes(HDR_9000)
    result = handlers.translate_images("tiny", [str(text), str(image_file), str(empty), str(hdr)], None, "AtoB",
                                       "auto", 0)
    assert result.status.startswith("Done: 1 image(s) translated"), result.status
    assert [read_image(t).shape for _, t in result.pairs] == [(29, 37, 3)] and result.downloads == [result.pairs[0][1]]
    assert [line.split(":")[0] for line in result.skipped] == ["notes.jpg", "empty.png", "huge.png"]
    assert "Skipped 3 file(s):" in result.status and "- empty.png: the file is empty" in result.status
    all_bad = handlers.translate_images("tiny", [str(text), str(empty)], None, "AtoB", "auto", 0)
    assert all_bad.status.startswith("Error: no image was translated") and all_bad.pairs == []
    assert "- notes.jpg: " in all_bad.status and "- empty.png: " in all_bad.status


def test_too_many_images_at_once_are_refused_before_any_is_read(handlers, image_file):
    limit = handlers.limits.max_files
    result = handlers.translate_images("tiny", [str(image_file)] * (limit + 1), None, "AtoB", "auto", 0)
    assert result.status == f"Error: {limit + 1} images: at most {limit} per run" and result.pairs == []
    assert not list(handlers.outputs.root.iterdir())


def test_a_tiny_image_cannot_ask_for_a_huge_size(handlers, tmp_path):
    small = write_image(tmp_path / "small.png", np.full((20, 20, 3), 100, np.uint8))
    started = time.perf_counter()
    for size in (8192, "8192", -5, "abc", 1.5, 10**9):
        result = handlers.translate_images("tiny", [str(small)], None, "AtoB", "auto", size)
        assert result.status.startswith("Error: size must be"), (size, result.status)
    assert time.perf_counter() - started < 5 and not list(handlers.outputs.root.iterdir())
    capped = Handlers(handlers.cache, handlers.outputs, UploadLimits(max_pixels=100 * 100), handlers.run_roots)
    result = capped.translate_images("tiny", [str(small)], None, "AtoB", "auto", 400)
    assert result.status.startswith("Error: small: size 400 makes it 400x400, over the 0.01 megapixel limit")
    assert capped.translate_images("tiny", [str(small)], None, "AtoB", "auto", 64).status.startswith("Done")


def test_a_size_that_would_not_fit_in_memory_is_refused_with_the_largest_that_does(handlers, tmp_path, monkeypatch):
    import re

    import translate.apply.memory

    small = write_image(tmp_path / "small.png", np.full((20, 30, 3), 100, np.uint8))
    monkeypatch.setattr(translate.apply.memory, "available_bytes", lambda device: 8 * 2**20)  # 8 MiB free
    result = handlers.translate_images("tiny", [str(small)], None, "AtoB", "auto", 2048)
    assert result.status.startswith("Error: small: 2048x1365 needs about"), result.status
    largest = int(re.search(r"at most (\d+)", result.status).group(1))
    assert 16 <= largest < 2048
    ok = handlers.translate_images("tiny", [str(small)], None, "AtoB", "auto", largest)
    assert ok.status.startswith("Done"), ok.status
    assert max(read_image(ok.pairs[0][1]).shape[:2]) == largest
    too_big = handlers.translate_images("tiny", [str(small)], None, "AtoB", "auto", largest + 40)
    assert too_big.status.startswith("Error: ") and "needs about" in too_big.status


@pytest.mark.parametrize("direction, precision, message", [
    ("CtoD", "auto", "direction must be one of AtoB, BtoA, got 'CtoD'"),
    ("AtoB", "fp8", "precision must be one of auto, fp32, bf16, fp16, got 'fp8'"),
])
def test_unknown_directions_and_precisions_are_refused_not_replaced(handlers, image_file, direction, precision,
                                                                    message):
    result = handlers.translate_images("tiny", [str(image_file)], None, direction, precision, 0)
    assert result.status == f"Error: {message}" and result.skipped == []
    assert handlers.translate_video("tiny", None, direction, precision, 0)[1] == f"Error: {message}"


def test_video_requests_are_bounded_too(handlers, tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=8)
    for size in (8192, -5, "abc", float("nan")):
        path, status = handlers.translate_video("tiny", str(clip), "AtoB", "fp32", size)
        assert path is None and status.startswith("Error: size must be"), (size, status)
    capped = Handlers(handlers.cache, handlers.outputs, UploadLimits(max_pixels=64 * 48), handlers.run_roots)
    path, status = capped.translate_video("tiny", str(clip), "AtoB", "fp32", 128)
    assert path is None and "over the 0.003072 megapixel limit" in status, status
    few = Handlers(handlers.cache, handlers.outputs, UploadLimits(max_video_frames=5), handlers.run_roots)
    assert few.translate_video("tiny", str(clip), "AtoB", "fp32", 0)[1].startswith("Error: clip.mp4: 8 frames is over")


def test_a_video_longer_than_its_header_says_stops_at_the_frame_limit(handlers, tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=12)
    destination = tmp_path / "out.mp4"
    with pytest.raises(RequestError, match="more than 4 frames"):
        handlers.cache.translate_video("tiny", clip, destination, "AtoB", "fp32", None, max_frames=4)
    assert not destination.exists()  # the partial output is removed, as for any failed video


def test_runs_page_plots_each_metric_on_its_own_axis_and_opens_on_a_run_with_logs(handlers, run_dir, tmp_path):
    plots = {p.title: p for p in handlers.plots("tiny")}
    assert list(plots) == ["losses", "psnr", "fid"]  # psnr (~13) and fid (~80) never share an axis
    assert {r["series"] for r in plots["losses"].rows} == {"G_GAN", "D"} and plots["losses"].lines
    assert not plots["psnr"].lines  # one logged point: drawn as a point, not an invisible line
    (tmp_path / "aaa_empty").mkdir()
    (tmp_path / "aaa_empty" / "config.yaml").write_text("name: empty\n")
    both = Handlers(handlers.cache, handlers.outputs, handlers.limits, [tmp_path, run_dir.parent])
    assert both.runs()[0].name == "aaa_empty" and both.default_run() == "tiny"
    assert both.plots("aaa_empty") == [] and handlers.plots(None) == []


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
    path, status = handlers.run_pipeline("tiny", str(tmp_path / "c.mp4"), "auto")
    assert path is None and status == "Error: tiny is an image model: use the Try a model tab"


def test_a_pipeline_is_served_from_its_declaration_alone(run_dir, image_file, tmp_path):
    """A new pipeline is its code and a declaration: serve offers its kind's models and runs it."""
    jobs = []

    def outline(job: PipelineJob) -> str:
        jobs.append(job)
        write_image(job.destination, job.model(read_image(job.source)))
        return "outlined"

    sketch = Pipeline("sketch", "Sketch", "Draw it.", (Input(IMAGE, "a photo"),), IMAGE, outline)
    models, _ = discover([run_dir.parent], pipelines=[sketch])
    handlers = Handlers(ModelCache(models, "cpu", [sketch]), OutputFolder(tmp_path / "out"), UploadLimits(),
                        [run_dir.parent])
    assert handlers.pipelines() == [sketch] and handlers.cache.choices(sketch.model)[0][1] == "tiny"
    path, status = handlers.run_pipeline("tiny", str(image_file), "fp32", "sketch")
    assert status.startswith("Done: outlined in "), status
    assert path.parent == handlers.outputs.root and path.name.startswith("photo_sketch_") and path.suffix == ".png"
    assert read_image(path).shape == (29, 37, 3)
    (job,) = jobs
    assert job.checkpoint == run_dir and job.model.spec.direction == "AtoB" and job.source == image_file
    clip = make_video(tmp_path / "clip.mp4", frames=2)
    assert handlers.run_pipeline("tiny", str(clip), "fp32", "sketch")[1] == "Error: sketch takes a photo"
    assert handlers.run_pipeline("tiny", str(image_file), "fp32", "dance")[1] \
        == "Error: no pipeline called 'dance'; this server runs sketch"
    assert len(jobs) == 1


def test_a_pipeline_pick_reaches_the_job_and_the_page(run_dir, image_file, tmp_path):
    """What a pipeline asks beside the upload (who dances, which face): typed on the page, handed
    to the job as text, its default when left empty."""
    from translate.pipelines.registry import Pick
    from translate.serve.app import build

    answers = []

    def outline(job: PipelineJob) -> str:
        answers.append(job.chosen(who))
        write_image(job.destination, read_image(job.source))
        return "outlined"

    who = Pick("who", "largest, centre or an ID", "largest")
    sketch = Pipeline("sketch", "Sketch", "Draw it.", (Input(IMAGE, "a photo"),), IMAGE, outline, pick=who)
    models, _ = discover([run_dir.parent], pipelines=[sketch])
    handlers = Handlers(ModelCache(models, "cpu", [sketch]), OutputFolder(tmp_path / "out"), UploadLimits(),
                        [run_dir.parent])
    assert handlers.run_pipeline("tiny", str(image_file), "fp32", "sketch", " 2 ")[1].startswith("Done")
    assert handlers.run_pipeline("tiny", str(image_file), "fp32", "sketch", "")[1].startswith("Done")
    assert handlers.run_pipeline("tiny", str(image_file), "fp32", "sketch")[1].startswith("Done")
    assert answers == ["2", "largest", "largest"]
    boxes = {b.elem_id: b for b in build(handlers).blocks.values() if getattr(b, "elem_id", None)}
    assert boxes["sketch-choice"].value == "largest" and boxes["sketch-choice"].label == "who"


def test_the_page_has_a_tab_per_registered_pipeline(handlers):
    from translate.pipelines.registry import list_pipelines
    from translate.serve.app import build

    page = build(handlers)
    blocks = list(page.blocks.values())
    ids = {b.elem_id for b in blocks if getattr(b, "elem_id", None)}
    tabs = [b.label for b in blocks if type(b).__name__ == "Tab"]
    assert [t for t in tabs if t not in ("Try a model", "Images", "Video", "Runs")] \
        == [p.title for p in list_pipelines()]
    for p in list_pipelines():
        assert {f"{p.name}-model", f"{p.name}-upload", f"run-{p.name}", f"{p.name}-status", f"{p.name}-result"} <= ids


def test_runs_curves_split_losses_from_metrics(handlers):
    losses, metrics = handlers.curves("tiny")
    assert {r["series"] for r in losses} == {"G_GAN", "D"}
    assert {r["series"] for r in metrics} == {"psnr", "fid_AtoB"}
    assert handlers.samples("tiny")[0][0] == "step 10 (epoch 3)"


# --- the command ------------------------------------------------------------------------------

def test_serve_command_checks_its_arguments(capsys, tmp_path):
    assert main(["serve", "--auth", "nopassword"]) == 1
    assert "--auth must be USER:PASSWORD" in capsys.readouterr().err
    assert main(["serve", "--port", "0"]) == 2
    capsys.readouterr()
    assert main(["serve", "--runs", str(tmp_path / "no_such_runs"), "--port", "7999"]) == 2
    err = capsys.readouterr().err
    assert f"--runs {tmp_path / 'no_such_runs'}: no such folder" in err and err.count("\n") == 1, err
    assert main(["serve", "--max-pixels", "0"]) == 2
    assert main(["serve", "--checkpoint", "no/such/run", "--port", "7999"]) == 1
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize("host, shown", [
    ("127.0.0.1", "http://localhost:7860"), ("0.0.0.0", "http://localhost:7860 (from other machines: http://"),
    ("::", "http://localhost:7860 (from other machines: http://"), ("192.168.1.5", "http://192.168.1.5:7860"),
    ("fe80::1", "http://[fe80::1]:7860"),
])
def test_the_address_to_open_is_one_a_browser_can_open(host, shown):
    address = page_address(host, 7860)
    assert address.startswith(shown) and "0.0.0.0" not in address and "http://:::" not in address


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
    assert [(m.name, m.kind) for m in models] == [("swap", FACE)]
    handlers = Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [tmp_path])
    assert handlers.translate_images("swap", None, np.zeros((8, 8, 3), np.uint8), None, "auto", 0).status \
        == "Error: swap is a faceswap model: use its own tab"
    video = make_face_video(tmp_path / "face.mp4", frames=4)
    refused = handlers.run_pipeline("swap", str(video), "fp32", "dance")[1]
    assert refused == "Error: swap is a faceswap model: use its own tab"
    assert handlers.run_pipeline("swap", str(video), "fp32", "faceswap", "tallest")[1] \
        == "Error: 'which face' must be an ID (1, 2, ...) or one of largest, centre; got 'tallest'"
    absent = handlers.run_pipeline("swap", str(video), "fp32", "faceswap", "7")
    assert absent[0] is None and absent[1].startswith("Error: ") and "7" in absent[1], absent
    path, status = handlers.run_pipeline("swap", str(video), "fp32", "faceswap", "centre")
    assert status.startswith("Done: face swap"), status
    frames, _, _, audio_seconds, _ = read_back(path)
    assert len(frames) == 4 and frames[0].shape == (160, 192, 3) and audio_seconds


def test_dance_tab_runs_the_whole_pipeline_on_a_clip(tmp_path, dancer):  # noqa: F811
    from pose_clips import TINY, astronaut_frames, write_clip

    assert main(["train", "pose2frame", "--data", str(dancer), "--name", "moves", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "1", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false", "flip=false"]), [])]) == 0
    models, _ = discover([tmp_path / "ck"])
    assert [(m.name, m.kind) for m in models] == [("moves", POSE_SEQUENCE)]
    handlers = Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [tmp_path])
    photo = write_image(tmp_path / "still.png", np.zeros((32, 32, 3), np.uint8))
    assert handlers.run_pipeline("moves", str(photo), "fp32")[1] == "Error: dance takes a video of someone dancing"
    source = write_clip(tmp_path / "source.mp4", astronaut_frames(4, size=48), fps=8)
    assert handlers.run_pipeline("moves", str(source), "fp32", "dance", "everyone")[1] \
        == "Error: 'who dances' must be an ID (1, 2, ...) or one of largest, centre; got 'everyone'"
    absent = handlers.run_pipeline("moves", str(source), "fp32", "dance", "9")
    assert absent[0] is None and "9" in absent[1], absent
    path, status = handlers.run_pipeline("moves", str(source), "fp32")
    assert status.startswith("Done: 4 frames") and "not normalised" in status, status
    frames, _, _, audio_seconds, _ = read_back(path)
    assert len(frames) == 4 and audio_seconds  # the source's moves, its timing and its sound


# --- label-map models and pix2pixHD's feature clusters ------------------------------------------

@pytest.fixture(scope="module")
def feature_model(tmp_path_factory):
    from label_cars import make_cars, train_feature_model

    root = tmp_path_factory.mktemp("cars")
    data = make_cars(root / "data")
    return train_feature_model(data, root / "runs"), data


def test_a_label_map_model_reads_uploads_as_label_maps_with_the_chosen_clusters(feature_model, tmp_path):
    run, data = feature_model
    models, problems = discover([run.parent])
    assert not problems
    handlers = Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [run.parent])
    hint = handlers.feature_hint("feat")
    assert hint.startswith("feature clusters per label: 0: ") and "random" in hint
    assert "label maps (2 classes" in handlers.model_info("feat")[0]["reads"]
    upload = str(data / "test_label" / "c0.png")
    first = handlers.translate_images("feat", [upload], None, "AtoB", "fp32", 0, "")
    assert first.status.startswith("Done: 1 image(s)"), first.status
    labels, picture = first.pairs[0]
    assert read_image(picture).shape == (32, 32, 3) and read_image(labels).shape == (32, 32, 3)
    count = handlers.cache.get("feat").feature_clusters().count(1)
    last = handlers.translate_images("feat", [upload], None, "AtoB", "fp32", 0, f"1={count - 1}")
    assert last.status.startswith("Done"), last.status
    from translate.apply.model import Model

    expected = Model.from_file(run, precision="fp32", features=f"1={count - 1}").translate_file(upload)
    assert np.array_equal(read_image(last.pairs[0][1]), expected)  # the page paints what apply paints
    bad = handlers.translate_images("feat", [upload], None, "AtoB", "fp32", 0, f"1={count}")
    assert bad.status.startswith(f"Error: --features 1={count}: label 1 has clusters 0-{count - 1}"), bad.status
    photo = write_image(tmp_path / "photo.png", np.full((20, 20, 3), (200, 90, 40), np.uint8))
    colour = handlers.translate_images("feat", [str(photo), upload], None, "AtoB", "fp32", 0, "")
    assert colour.status.startswith("Done: 1 image(s)"), colour.status  # the label map still translated
    assert "- photo: a colour (RGB) image, not a label map of class ids" in colour.status
    cam = handlers.translate_images("feat", None, np.zeros((8, 8, 3), np.uint8), "AtoB", "fp32", 0, "")
    assert cam.status == "Error: feat reads label maps (class-id PNGs), not webcam pictures"


def test_feature_clusters_are_refused_for_a_model_without_them(handlers, image_file):
    assert handlers.feature_hint("tiny") is None
    result = handlers.translate_images("tiny", [str(image_file)], None, "AtoB", "fp32", 0, "1=0")
    assert result.status == "Error: feature clusters: tiny was not trained with pix2pixHD's feature encoder"
