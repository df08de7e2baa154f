"""`make demo`: apply the bundled demo models to the bundled sample photos and video.

The models, trained offline on scikit-image's and other bundled photos (coffee and rocket never
seen in training):
- checkpoints/demo_cartoon            pix2pix (paired): photo -> cartoon, also applied to the clip
- checkpoints/demo_comic            CycleGAN (unpaired): photo -> comic and comic -> photo; its
  comic inputs are the held-out photos drawn by the same rendering that made its data (--rendering;
  another model with --cyclegan)

Writes each model's outputs into its own folder under --out, an input | output review video of
the clip with its audio, one input | output picture per model and direction, and index.html with
the pictures and each model's held-out scores beside the trivial baselines (<model>/scores.json).
Everything is offline and only applies: nothing is trained here.
"""
from __future__ import annotations

import argparse
import html
import os
import sys
from pathlib import Path
from typing import List, NamedTuple, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from translate.cli import main as translate_main  # noqa: E402
from translate.data import list_images, read_image, write_image  # noqa: E402
from translate.fileio import atomic_write_text  # noqa: E402

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
BUNDLED_CYCLEGAN = ROOT / "checkpoints" / "demo_comic"


class Section(NamedTuple):
    """One model and direction on the page: where its inputs come from and where outputs go."""

    slug: str  # output folder and picture name
    title: str
    checkpoint: Path
    direction: str
    inputs: Path


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


def scores_table(checkpoint: Path, direction: str = "") -> str:
    """The model's held-out scores beside the trivial baselines (<checkpoint>/scores.json, written by
    tools/bench_quality.py --score), as an HTML table; only ``direction``'s metrics when given;
    empty when the folder has none."""
    import json

    path = Path(checkpoint) / "scores.json"
    if not path.is_file():
        return ""
    scores = json.loads(path.read_text())["scores"]
    names = [n for n in scores["model"] if not direction or n.endswith(f"_{direction}")]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = "".join(f"<tr><td>{html.escape(row)}</td>" + "".join(
        f"<td>{values[n]:.3f}</td>" if n in values else "<td>-</td>" for n in names) + "</tr>"
        for row, values in scores.items())
    return (f"<p>held-out scores (test split, photos never seen in training)</p>"
            f"<table><tr><th></th>{head}</tr>{rows}</table>")


def rendered_inputs(photos: Path, rendering: str, out: Path) -> Path:
    """The sample photos drawn by the rendering that made the training data's B side: the CycleGAN
    model's B -> photo inputs, with the photo as their ground truth."""
    render = renderings()[rendering]
    for path in list_images(photos):
        write_image(out / f"{path.stem}.png", render(read_image(path)))
    return out


def renderings():
    """datasets/make_demo_dataset.py's RENDERINGS (name -> uint8 RGB -> uint8 RGB)."""
    if str(ROOT / "datasets") not in sys.path:
        sys.path.insert(0, str(ROOT / "datasets"))
    from make_demo_dataset import RENDERINGS

    return RENDERINGS


def translate_images(section: Section, out: Path) -> List[Tuple[Path, Path]]:
    """Every image of ``section.inputs`` through the model, with the Python API; (input, output) pairs."""
    import translate

    model = translate.load(section.checkpoint, section.direction)
    pairs = []
    for src in list_images(section.inputs):
        dst = write_image(out / f"{src.stem}.png", model(read_image(src)))
        pairs.append((src, dst))
    return pairs


def relative(path: Path, out: Path) -> str:
    # Relative: the page keeps working when demo_out/ and the samples move together (or are served).
    return html.escape(Path(os.path.relpath(Path(path).resolve(), out.resolve())).as_posix())


def section_html(section: Section, pairs, picture: Path, out: Path) -> str:
    rows = "".join(f"<tr><td><img src='{relative(s, out)}' height=200></td>"
                   f"<td><img src='{relative(d, out)}' height=200></td></tr>" for s, d in pairs)
    model = section.checkpoint.resolve()
    shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    return (f"<h2>{html.escape(section.title)}</h2><p>{html.escape(str(shown))} ({section.direction}); "
            f"all inputs held out from training. Picture: "
            f"<a href='{relative(picture, out)}'>{html.escape(picture.name)}</a></p>"
            f"<table><tr><th>input</th><th>output</th></tr>{rows}</table>"
            f"{scores_table(section.checkpoint, section.direction)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "demo_cartoon"),
                        help="the paired (pix2pix) model")
    parser.add_argument("--cyclegan", default=None,
                        help="an unpaired (CycleGAN) model, shown in both directions (default: "
                             f"{BUNDLED_CYCLEGAN.relative_to(ROOT)} when it exists)")
    parser.add_argument("--rendering", default="comic", choices=sorted(renderings()),
                        help="the rendering the CycleGAN model's B side was trained on; its B -> A inputs "
                             "are the samples drawn by it (default: comic, the bundled model's)")
    parser.add_argument("--samples", default=str(ROOT / "datasets" / "samples"))
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--pictures", help="also copy the input|output pictures here (the README's, docs/)")
    args = parser.parse_args(argv)

    cyclegan = Path(args.cyclegan) if args.cyclegan else BUNDLED_CYCLEGAN
    if args.cyclegan and not (cyclegan / "translate.json").is_file():  # named: must exist, checked before any work
        print(f"demo: --cyclegan {cyclegan}: no model there (a run folder with translate.json)", file=sys.stderr)
        return 1
    out = Path(args.out)
    samples = Path(args.samples)
    paired = Path(args.checkpoint)
    images_out = out / "images"
    # --overwrite: a demo re-run after the model changed must not keep stale outputs. The CLI
    # also translates the clip (frames streamed, audio kept).
    code = translate_main(["apply", "--checkpoint", str(paired), "--input", str(samples),
                           "--output", str(images_out), "--overwrite"])
    if code != 0:
        return code
    videos = sorted(p for p in samples.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    for video in videos:
        code = translate_main(["apply", "--checkpoint", str(paired), "--input", str(video), "--overwrite",
                               "--output", str(out / f"{video.stem}_side_by_side{video.suffix}"), "--side-by-side"])
        if code != 0:
            return code

    sections = [(Section("pix2pix", "pix2pix (paired): photo → cartoon", paired, "AtoB", samples),
                 [(src, images_out / src.relative_to(samples)) for src in list_images(samples, recursive=True)])]
    if (cyclegan / "translate.json").is_file():
        rendered = rendered_inputs(samples, args.rendering, out / f"{args.rendering}_inputs")
        for section in (Section("cyclegan_AtoB", f"CycleGAN (unpaired): photo → {args.rendering}", cyclegan, "AtoB",
                                samples),
                        Section("cyclegan_BtoA", f"CycleGAN (unpaired): {args.rendering} → photo", cyclegan, "BtoA",
                                rendered)):
            sections.append((section, translate_images(section, out / section.slug)))

    body = []
    for section, pairs in sections:
        picture = write_image(out / f"demo_{section.slug}.png", side_by_side(pairs))
        if args.pictures:
            write_image(Path(args.pictures) / picture.name, read_image(picture))
        body.append(section_html(section, pairs, picture, out))
    clips = "".join(f"<h2>{html.escape(v.name)} (pix2pix; input | output, audio kept)</h2><video controls "
                    f"src='{html.escape(v.stem)}_side_by_side{html.escape(v.suffix)}'></video>" for v in videos)
    atomic_write_text(out / "index.html", "<!doctype html><meta charset='utf-8'><title>translate demo</title>"
                      "<h1>translate demo</h1>" + "".join(body) + clips)
    print(f"demo: {len(sections)} model sections, {sum(len(p) for _, p in sections)} images and {len(videos)} "
          f"video(s) translated -> {out}; page {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
