"""`translate serve` in a real browser: Debian's headless Chromium, driven by Playwright.

The server runs in this process on a free localhost port. Playwright never downloads a browser
here: it is pointed at the system Chromium, which `make test` and `.ci/run` install with
tools/ensure_chromium.sh. A missing Chromium or Playwright fails these tests, never skips them:
a skip would hide the page being untested.
"""
import re
import shutil
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from translate.data import read_image, write_image
from video_clips import make_video

sys.path.insert(0, str(Path(__file__).parent))
from test_serve import DEMO, make_run  # noqa: E402

TIMEOUT_MS = 60_000


def _missing(what: str) -> None:
    pytest.fail(f"browser tests cannot run: {what}; install it with: bash tools/ensure_chromium.sh (Chromium) "
                f"/ make install (Playwright)")


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _missing("Debian's chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (the serve extra) is not installed")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from translate.serve import ServeOptions, prepare
    from translate.serve.app import launch

    runs = tmp_path_factory.mktemp("runs")
    make_run(runs / "tiny")
    _other_run(runs / "zeta")  # sorts after tiny
    (runs / "aaa_empty").mkdir()  # sorts first, has nothing to plot: the page must not open on it
    (runs / "aaa_empty" / "config.yaml").write_text("name: empty\n")
    page, handlers = prepare(ServeOptions(roots=[runs], checkpoints=[DEMO], device="cpu",
                                          output_dir=tmp_path_factory.mktemp("served")))
    port = free_port()
    launch(page, "127.0.0.1", port, None, max_upload_mb=5, block=False)
    yield f"http://127.0.0.1:{port}", handlers
    page.close()
    handlers.outputs.cleanup()


@pytest.fixture
def page(chromium, server):
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server[0] + "/")
    page.wait_for_selector("#translate-images")
    yield page
    page.close()


def _other_run(folder: Path) -> Path:
    """A run whose losses have other names than make_run's, to see that legends do not carry over."""
    import torch

    from translate.checkpoint import GeneratorSpec, save_run
    from translate.training.watch import Watcher

    spec = GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, translator="pix2pix", direction="AtoB")
    save_run(folder, {"AtoB": (spec.build(), spec)}, 3, "pix2pix")
    watcher = Watcher(folder, 0, 3, 1, tensorboard=True)
    for step in range(1, 4):
        watcher.step(step, {"G_L1": 0.3 / step}, 1)
    watcher.samples(3, 1, {"real_A": torch.zeros(1, 3, 16, 16)})
    watcher.close()
    return folder


def _choose(page, menu: str, name: str) -> None:
    """Pick the entry whose label is ``name`` or starts with ``name (``: labels add what A and B are."""
    page.click(f"{menu} input")
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}( \(.*\))?$")).click()


def _choose_model(page, name: str) -> None:
    _choose(page, "#model", name)


# The file list shows a name's stem and extension in separate elements ("coffee" / ".jpg").
_SHOWN = "((sel, name) => document.querySelector(sel).innerText.replace(/\\s/g, '').includes(name))"


def _upload(page, target: str, path: Path) -> None:
    page.locator(f"{target} input[type=file]").set_input_files(str(path))
    page.wait_for_function(f"([sel, name]) => {_SHOWN}(sel, name)", arg=[target, path.name])


def _status(page, selector: str) -> str:
    page.wait_for_function("(sel) => /^(Done|Error)/.test(document.querySelector(sel).innerText.trim())",
                           arg=selector)
    return page.inner_text(selector).strip()


def test_upload_an_image_and_see_the_output_at_the_input_size(page, tmp_path):
    photo = write_image(tmp_path / "photo.png", (np.random.default_rng(2).random((37, 45, 3)) * 255).astype(np.uint8))
    _choose_model(page, "demo_cartoon")
    _upload(page, "#image-upload", photo)
    page.click("#translate-images")
    status = _status(page, "#image-status")
    assert status.startswith("Done: 1 image(s) translated with demo_cartoon"), status
    page.wait_for_function("document.querySelectorAll('#before-after img').length >= 2 && "
                           "Array.from(document.querySelectorAll('#before-after img')).every(i => i.complete "
                           "&& i.naturalWidth > 0)")
    sizes = page.evaluate("Array.from(document.querySelectorAll('#before-after img, #outputs img'))"
                          ".map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(sizes) >= 3 and all(size == [45, 37] for size in sizes), sizes
    link = page.locator("#downloads a").first.get_attribute("href")
    with urllib.request.urlopen(urllib.parse.urljoin(page.url, link)) as response:
        downloaded = response.read()
    out = tmp_path / "downloaded.png"
    out.write_bytes(downloaded)
    assert read_image(out).shape == (37, 45, 3)


def test_a_bad_upload_gets_a_message_and_the_server_keeps_working(page, tmp_path):
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"%PDF-1.4 this is a document, not a picture")
    _upload(page, "#image-upload", bad)
    page.click("#translate-images")
    status = _status(page, "#image-status")
    assert status.startswith("Error: holiday.png: not an image"), status
    good = write_image(tmp_path / "good.png", np.full((32, 32, 3), 128, np.uint8))
    page.click("#image-upload button[aria-label='Clear']")
    # The component re-renders on Clear; upload only once the old file has gone, or the file
    # may be set on the input being replaced (seen on a loaded machine).
    page.wait_for_function("(sel) => !document.querySelector(sel).innerText.includes('holiday.png')",
                           arg="#image-upload")
    _upload(page, "#image-upload", good)
    page.click("#translate-images")
    page.wait_for_function("document.querySelector('#image-status').innerText.startsWith('Done')")


def test_a_video_comes_back_playable_with_progress(page, tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=12, width=64, height=48)
    page.click("button[role=tab]:has-text('Video')")
    _upload(page, "#video-upload", clip)
    page.click("#translate-video")
    status = _status(page, "#video-status")
    assert status.startswith("Done: 12 frames") and "audio kept" in status, status
    page.wait_for_function("(() => { const v = document.querySelector('#video-result video'); "
                           "return v && v.readyState >= 1 && v.duration > 0; })()")
    duration, width = page.evaluate("[document.querySelector('#video-result video').duration, "
                                    "document.querySelector('#video-result video').videoWidth]")
    assert duration == pytest.approx(0.5, abs=0.1) and width == 64


def test_a_result_video_keeps_its_size_and_aspect_ratio(page, tmp_path):
    clip = make_video(tmp_path / "wide.mp4", frames=4, width=256, height=192)
    page.click("button[role=tab]:has-text('Video')")
    _upload(page, "#video-upload", clip)
    page.click("#translate-video")
    assert _status(page, "#video-status").startswith("Done"), page.inner_text("#video-status")
    page.wait_for_function("(() => { const v = document.querySelector('#video-result video'); "
                           "return v && v.readyState >= 1 && v.videoWidth > 0; })()")
    box = page.evaluate("(() => { const v = document.querySelector('#video-result video'); "
                        "const r = v.getBoundingClientRect(); return [r.width, r.height, v.videoWidth, "
                        "v.videoHeight, getComputedStyle(v).objectFit]; })()")
    shown_w, shown_h, width, height, fit = box
    assert (width, height) == (256, 192)
    assert shown_w / shown_h == pytest.approx(width / height, rel=0.02), box  # not stretched
    assert shown_w <= width + 1 and fit == "contain", box  # not blown up to the column's width


def test_a_single_result_is_shown_whole_in_the_gallery(page, tmp_path):
    wide = write_image(tmp_path / "wide.png", (np.random.default_rng(3).random((24, 200, 3)) * 255).astype(np.uint8))
    _upload(page, "#image-upload", wide)
    page.click("#translate-images")
    assert _status(page, "#image-status").startswith("Done")
    page.wait_for_function("document.querySelector('#outputs img') && document.querySelector('#outputs img').complete")
    fit = page.evaluate("getComputedStyle(document.querySelector('#outputs img')).objectFit")
    assert fit == "contain"  # "cover" crops a wide result to a strip of its middle
    # ... and the thumbnail itself lies inside the gallery's visible box (a lone result once got the
    # whole row as a square, which the gallery's height cut to a strip).
    image, box = page.evaluate("[document.querySelector('#outputs img'), document.querySelector('#outputs "
                               ".grid-wrap')].map(e => { const r = e.getBoundingClientRect(); "
                               "return [r.top, r.bottom]; })")
    assert box[0] - 1 <= image[0] and image[1] <= box[1] + 1, (image, box)


def test_examples_can_be_clicked_and_translated(page):
    page.locator("#image-examples").get_by_text("coffee.jpg", exact=True).first.click()
    page.wait_for_function(f"{_SHOWN}('#image-upload', 'coffee.jpg')")
    page.click("#translate-images")
    status = _status(page, "#image-status")
    assert status.startswith("Done: 1 image(s) translated"), status
    page.click("button[role=tab]:has-text('Video')")
    page.locator("#video-examples").get_by_text("coffee_pan.mp4", exact=True).first.click()
    page.wait_for_function(f"{_SHOWN}('#video-upload', 'coffee_pan.mp4')")


def test_model_and_direction_menus_say_what_a_and_b_are(page):
    page.click("#model input")
    options = page.get_by_role("option").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert "demo_cartoon (photo -> cartoon)" in options and "tiny (A <-> B)" in options, options
    page.get_by_role("option", name="tiny (A <-> B)", exact=True).click()
    page.wait_for_function("document.querySelector('#direction') && "
                           "document.querySelector('#direction').innerText.includes('B -> A')")
    assert "A -> B" in page.inner_text("#direction")


def test_a_batch_with_a_bad_file_shows_the_good_result_and_lists_the_bad(page, tmp_path):
    good = write_image(tmp_path / "good.png", np.full((30, 40, 3), 90, np.uint8))
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    page.locator("#image-upload input[type=file]").set_input_files([str(good), str(bad)])
    page.wait_for_function(f"{_SHOWN}('#image-upload', 'notes.jpg')")
    page.click("#translate-images")
    status = _status(page, "#image-status")
    assert status.startswith("Done: 1 image(s)") and "notes.jpg" in status and "Skipped 1 file(s)" in status, status
    page.wait_for_function("document.querySelectorAll('#outputs img').length == 1")


def test_the_runs_page_opens_on_a_run_with_logs_and_redraws_per_run(page):
    page.click("button[role=tab]:has-text('Runs')")
    assert page.locator("#run input").input_value() == "tiny"  # not aaa_empty, which sorts first
    page.wait_for_selector("#plot-losses svg")
    page.wait_for_function("document.querySelector('#plot-losses').textContent.includes('G_GAN')")
    # PSNR and FID on their own axes; PSNR's one point is a visible marker, not an empty line
    page.wait_for_selector("#plot-metric-psnr svg")
    assert page.locator("#plot-metric-fid").count() == 1
    assert "fid" not in page.inner_text("#plot-metric-psnr").replace("psnr", "")
    assert page.locator("#plot-metric-psnr svg path[aria-roledescription='point']").count() >= 1
    _choose(page, "#run", "zeta")
    page.wait_for_function("document.querySelector('#plot-losses') && "
                           "document.querySelector('#plot-losses').textContent.includes('G_L1')")
    assert "G_GAN" not in page.locator("#plot-losses").text_content()  # no legend left from tiny
    assert page.locator("#plot-metric-psnr").count() == 0
    _choose(page, "#run", "aaa_empty")
    page.wait_for_selector("#no-curves")
    assert page.locator(".run-plot").count() == 0 and page.locator("#metric-table").count() == 0


def test_the_runs_page_shows_a_runs_metrics(page):
    page.click("button[role=tab]:has-text('Runs')")
    table = page.locator("#runs-table")
    table.wait_for()
    page.wait_for_function("document.querySelector('#runs-table').innerText.includes('tiny')")
    text = table.inner_text()
    assert "demo_cartoon" in text and "12.5" in text and "psnr" in text
    page.wait_for_function("document.querySelector('#metric-table').innerText.includes('80')")
    assert "fid_AtoB" in page.inner_text("#metric-table")
    assert "step 10 (epoch 3)" in page.locator("#sample-step input").input_value()
    page.wait_for_function("document.querySelectorAll('#samples img').length == 2")


def test_each_registered_pipeline_has_its_own_tab(page):
    from translate.pipelines.registry import list_pipelines

    for pipeline in list_pipelines():
        page.click(f"button[role=tab]:has-text('{pipeline.title}')")
        page.wait_for_selector(f"#run-{pipeline.name}", state="visible")
        text = page.inner_text(f"#pipeline-{pipeline.name}")
        # this server has no checkpoint of the pipeline's kind: the tab says how to train one
        assert f"No {pipeline.title.lower()} checkpoints found (" in text and pipeline.how_to_train in text, text
        assert pipeline.wanted() in page.inner_text(f"#{pipeline.name}-upload")


def test_the_server_serves_no_file_outside_its_output_folder(server):
    url, handlers = server
    for path in ["/etc/passwd", str(DEMO / "translate.json"), str(handlers.outputs.root / "../x")]:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{url}/gradio_api/file={path}")
        assert info.value.code in (403, 404)


def test_a_missing_browser_fails_in_and_out_of_ci(monkeypatch):
    for ci in ("true", None):
        if ci:
            monkeypatch.setenv("CI", ci)
        else:
            monkeypatch.delenv("CI", raising=False)
        with pytest.raises(pytest.fail.Exception, match="cannot run: chromium is gone; install it with"):
            _missing("chromium is gone")
