"""`make demo`: apply the bundled demo model to the bundled sample images and video.

Writes the translated images and video, an input | output review video, a side-by-side
grid of the images and an HTML page to --out. Everything is offline: the model is
committed under checkpoints/demo_cartoon/ and the samples under datasets/samples/.
"""
from __future__ import annotations

import argparse
import html
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from translate.cli import main as translate_main  # noqa: E402
from translate.data import list_images, read_image, write_image  # noqa: E402
from translate.fileio import atomic_write_text  # noqa: E402


def side_by_side(pairs, height: int = 256, gap: int = 8) -> np.ndarray:
    """Rows of input | output at a common height, white gaps."""
    import cv2

    rows = []
    for src, dst in pairs:
        images = []
        for path in (src, dst):
            image = read_image(path)
            scale = height / image.shape[0]
            images.append(cv2.resize(image, (round(image.shape[1] * scale), height), interpolation=cv2.INTER_AREA))
        spacer = np.full((height, gap, 3), 255, np.uint8)
        rows.append(np.concatenate([images[0], spacer, images[1]], axis=1))
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(padded, axis=0)


def scores_table(checkpoint: Path) -> str:
    """The model's held-out scores beside the trivial baselines (<checkpoint>/scores.json, written by
    tools/bench_quality.py --score), as an HTML table; empty when the folder has none."""
    import json

    path = Path(checkpoint) / "scores.json"
    if not path.is_file():
        return ""
    scores = json.loads(path.read_text())["scores"]
    names = list(scores["model"])
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = "".join(f"<tr><td>{html.escape(row)}</td>" + "".join(f"<td>{values[n]:.3f}</td>" for n in names) + "</tr>"
                   for row, values in scores.items())
    return (f"<h2>held-out scores (test split, photos never seen in training)</h2>"
            f"<table><tr><th></th>{head}</tr>{rows}</table>")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "demo_cartoon"))
    parser.add_argument("--samples", default=str(ROOT / "datasets" / "samples"))
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--grid", help="also write the input|output grid here (README picture)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    images_out = out / "images"
    # --overwrite: a demo re-run after the model changed must not keep stale outputs.
    code = translate_main(["apply", "--checkpoint", args.checkpoint, "--input", args.samples,
                           "--output", str(images_out), "--overwrite"])
    if code != 0:
        return code
    videos = sorted(p for p in Path(args.samples).iterdir() if p.suffix.lower() in (".mp4", ".mov", ".mkv", ".webm"))
    for video in videos:
        code = translate_main(["apply", "--checkpoint", args.checkpoint, "--input", str(video), "--overwrite",
                               "--output", str(out / f"{video.stem}_side_by_side{video.suffix}"), "--side-by-side"])
        if code != 0:
            return code
    pairs = [(src, images_out / src.relative_to(args.samples)) for src in list_images(args.samples, recursive=True)]
    grid = side_by_side(pairs)
    write_image(out / "grid.png", grid)
    if args.grid:
        write_image(args.grid, grid)
    rows = "".join(
        # Relative: the page keeps working when demo_out/ and the samples move together (or are served).
        f"<tr><td><img src='{html.escape(Path(os.path.relpath(Path(src).resolve(), out.resolve())).as_posix())}' "
        f"height=256></td>"
        f"<td><img src='images/{html.escape(str(dst.relative_to(images_out)))}' height=256></td></tr>"
        for src, dst in pairs
    )
    clips = "".join(f"<h2>{html.escape(v.name)} (input | output, audio kept)</h2><video controls "
                    f"src='{html.escape(v.stem)}_side_by_side{html.escape(v.suffix)}'></video>" for v in videos)
    atomic_write_text(out / "index.html", "<!doctype html><meta charset='utf-8'><title>translate demo</title>"
                      "<h1>translate demo: photo &rarr; cartoon (pix2pix)</h1>"
                      f"<table><tr><th>input</th><th>output</th></tr>{rows}</table>{scores_table(Path(args.checkpoint))}{clips}")
    print(f"demo: {len(pairs)} images and {len(videos)} video(s) translated -> {images_out}; "
          f"page {out / 'index.html'}; grid {out / 'grid.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
