"""README pictures of `translate serve`, taken by the headless Chromium the browser tests use,
and the time from upload to result for a photo and a 5-second clip.

    python tools/screenshots_serve.py [--out docs/images]   (after `make demo`, for the demo runs)

Starts the server on a free localhost port with the repository's checkpoints/, drives Debian's
Chromium with Playwright (no browser download), and prints the measured times.
"""
from __future__ import annotations

import argparse
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "datasets"))

from translate.serve import ServeOptions, prepare  # noqa: E402
from translate.serve.app import launch  # noqa: E402

DONE = "(sel) => /^(Done|Error)/.test(document.querySelector(sel).innerText.trim())"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _upload(page, target: str, path: Path) -> None:
    page.locator(f"{target} input[type=file]").set_input_files(str(path))
    page.wait_for_function("([sel, name]) => document.querySelector(sel).innerText.includes(name)",
                           arg=[target, path.name])


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    import make_sample_video

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--photo", default=str(ROOT / "datasets" / "samples" / "coffee.jpg"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="serve-shots-"))
    clip = make_sample_video.write(work / "five_seconds.mp4", count=120)  # 5 s at 24 fps, 256x192, with audio
    page_app, handlers = prepare(ServeOptions(roots=[ROOT / "checkpoints"], device="cpu"))
    port = _port()
    launch(page_app, "127.0.0.1", port, None, 100, block=False)
    chromium = shutil.which("chromium")
    if not chromium:
        print("chromium is not installed: bash tools/ensure_chromium.sh", file=sys.stderr)
        return 1
    timings = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(300_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#translate-images")
            page.click("#model input")
            # the menu's label adds what A and B are: "demo_cartoon (photo -> cartoon)"
            page.get_by_role("option", name=re.compile(r"^demo_cartoon( \(|$)")).click()
            page.click("text=model details")
            started = time.perf_counter()
            _upload(page, "#image-upload", Path(args.photo))
            clicked = time.perf_counter()
            page.click("#translate-images")
            page.wait_for_function(DONE, arg="#image-status")
            page.wait_for_function("Array.from(document.querySelectorAll('#before-after img'))"
                                   ".filter(i => i.complete && i.naturalWidth > 0).length >= 2")
            done = time.perf_counter()
            timings["photo"] = (done - started, done - clicked, page.inner_text("#image-status"))
            page.screenshot(path=str(out / "serve_try.png"), full_page=True)

            page.click("button[role=tab]:has-text('Video')")
            started = time.perf_counter()
            _upload(page, "#video-upload", clip)
            clicked = time.perf_counter()
            page.click("#translate-video")
            page.wait_for_function(DONE, arg="#video-status")
            page.wait_for_function("(() => { const v = document.querySelector('#video-result video'); "
                                   "return v && v.readyState >= 1 && v.duration > 0; })()")
            done = time.perf_counter()
            timings["5-second clip"] = (done - started, done - clicked, page.inner_text("#video-status"))
            page.screenshot(path=str(out / "serve_video.png"), full_page=True)

            page.click("button[role=tab]:has-text('Runs')")
            page.wait_for_function("document.querySelector('#runs-table').innerText.includes('demo_run')")
            page.click("#run input")
            page.get_by_role("option", name="demo_run_ngf16", exact=True).click()
            page.wait_for_function("document.querySelectorAll('#samples img').length > 0")
            page.wait_for_timeout(1500)  # let the plots draw
            page.screenshot(path=str(out / "serve_runs.png"), full_page=True)
            browser.close()
    finally:
        page_app.close()
        handlers.outputs.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    for what, (total, run, status) in timings.items():
        print(f"{what}: {total:.2f} s from upload to result in the browser ({run:.2f} s after the click); "
              f"page said: {status.strip()}")
    print(f"screenshots: {', '.join(str(out / n) for n in ('serve_try.png', 'serve_video.png', 'serve_runs.png'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
