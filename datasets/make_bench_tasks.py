"""The quality benchmark's tasks, built offline from scikit-image's bundled real photos.

    python datasets/make_bench_tasks.py [--out datasets/bench_quality] [--size 64] [--count 160]

Three tasks, each with test scenes (coffee, rocket) never seen in training:
    cartoon/    paired: photo -> the demo's OpenCV cartoon (flat colours, dark outlines)
    sketch/     paired: photo -> a pencil sketch (colour-dodge of the inverted blurred grey),
                a rendering far from the input, so returning the input scores badly
    unpaired/   unpaired: trainA photo crops and trainB cartoons of *other* crops (disjoint
                scenes and positions, shuffled), for CycleGAN; its test/ split is paired
                (photo | cartoon), so both directions get a ground-truth PSNR/SSIM
    comic/      unpaired, the same layout: photo <-> the cartoon toned like an old print
                (make_demo_dataset.comic), a rendering whose colour an unpaired model can learn
                at CPU budgets; returning the input scores far lower than on unpaired/
Everything is a function of --seed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from datasets.make_demo_dataset import (HELD_OUT_PHOTOS, TRAIN_PHOTOS, cartoonize, comic, load_photo,  # noqa: E402
                                        write_split, write_unpaired)

TASKS = ("cartoon", "sketch", "unpaired", "comic")


def sketch(rgb: np.ndarray) -> np.ndarray:
    """Pencil sketch: grey / (1 - blur(inverted grey)), the classic colour-dodge; grey as RGB."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    blur = cv2.GaussianBlur(255.0 - grey, (0, 0), sigmaX=3.0)
    out = np.clip(grey * 255.0 / np.maximum(255.0 - blur, 1.0), 0, 255).astype(np.uint8)
    return np.repeat(out[:, :, None], 3, axis=2)


def build(out: Path, size: int = 64, count: int = 160, test_count: int = 16, seed: int = 0) -> Dict[str, Path]:
    train_photos = {name: load_photo(name) for name in TRAIN_PHOTOS}
    held_out = {name: load_photo(name) for name in HELD_OUT_PHOTOS}

    def rng(k: int) -> np.random.Generator:  # one stream per split and task: counts do not interact
        return np.random.default_rng(np.random.SeedSequence([seed, k]))

    roots = {}
    for k, (task, target) in enumerate((("cartoon", cartoonize), ("sketch", sketch))):
        root = out / task
        for split in ("train", "test"):
            (root / split).mkdir(parents=True, exist_ok=True)
        write_split(root / "train", train_photos, count, size, rng(10 * k), target)
        write_split(root / "test", held_out, test_count, size, rng(10 * k + 1), target)
        roots[task] = root

    for k, (task, target) in enumerate((("unpaired", cartoonize), ("comic", comic))):
        root = out / task
        write_unpaired(root, train_photos, count, size, rng(100 + 10 * k), rng(101 + 10 * k), target)  # other crops for B
        (root / "test").mkdir(parents=True, exist_ok=True)
        write_split(root / "test", held_out, test_count, size, rng(102 + 10 * k), target)
        roots[task] = root
    return roots


def main(argv=None) -> Dict[str, Path]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO_ROOT / "datasets" / "bench_quality")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--count", type=int, default=160)
    p.add_argument("--test-count", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    roots = build(args.out, args.size, args.count, args.test_count, args.seed)
    for task, root in roots.items():
        print(f"{task}: {root}")
    return roots


if __name__ == "__main__":
    main()
