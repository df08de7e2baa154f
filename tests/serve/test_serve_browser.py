"""`translate serve` in a real browser: Debian's headless Chromium, driven by Playwright.

The server runs in this process on a free localhost port. Playwright never downloads a browser
here: it is pointed at the system Chromium, which `make test` and `.ci/run` install with
tools/ensure_chromium.sh. A missing Chromium or Playwright fails these tests, never skips them:
a skip would hide the page being untested.
"""
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


def _choose_model(page, name: str) -> None:
    page.click("#model input")
    page.get_by_role("option", name=name, exact=True).click()


def _upload(page, target: str, path: Path) -> None:
    page.locator(f"{target} input[type=file]").set_input_files(str(path))
    page.wait_for_function("([sel, name]) => document.querySelector(sel).innerText.includes(name)",
                           arg=[target, path.name])


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
