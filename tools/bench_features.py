"""Does pix2pixHD's feature encoder give the user a choice of looks? Trained with and without it, measured.

    .venv/bin/python tools/bench_features.py                          # 3 seeds, 400 steps, 64 px
    .venv/bin/python tools/bench_features.py --seeds 0 --steps 50 --size 32   # a quick look
    .venv/bin/python tools/bench_features.py --reuse --picture docs/images/feature_clusters.png

The task is the feature encoder's own case: label maps of cars (label 1) on a road (label 0),
where each car of the training photos is red or blue at random; the label map cannot say which.
Without the encoder a generator can only learn one look for every car (at best their mean,
purple-grey); with it, each look should be reachable by choosing a cluster of label 1
(``--features 1=K``). For each trained model and each held-out label map, every cluster of label 1
is applied and the mean colour of the car pixels measured; the table reports how close the
nearest of those colours comes to red and to blue (RGB distance, 0-441; lower is better), the
worse of the two ("both looks"), and the road's error against its true grey (to show the
encoder costs the rest of the picture nothing). Without the encoder there is one output per map.

``--picture`` draws, for a few held-out label maps of seed 0, the label map, the model without
the encoder, and the encoder model with each cluster of label 1. ``--reuse`` measures runs already
trained in ``--work`` instead of training them again.

Every run trains through ``translate.train`` (the same code as ``translate train``), one torch
thread, seeded; the data is made here (``--work``, rebuilt when missing).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

RED, BLUE, GREY = np.array([220, 30, 30]), np.array([30, 30, 220]), np.array([90, 90, 90])
VARIANTS = {"without encoder": [], "feature encoder": ["features=instance"]}
NETWORK = ["ngf=16", "ndf=16", "n_downsample_global=3", "n_blocks_global=3", "n_layers_d=2", "num_scales=1",
           "lambda_perceptual=0", "feature_width=8", "n_downsample_features=3", "feature_clusters=6"]


def make_data(root: Path, size: int, n_train: int = 24, n_test: int = 8) -> Path:
    """train_label/, train_inst/, train_img/ and test_label/ + test_inst/ (test photos are not needed)."""
    from PIL import Image

    if (root / "test_label").is_dir():
        return root
    rng = np.random.default_rng(1234)
    for split, count in (("train", n_train), ("test", n_test)):
        for i in range(count):
            label = np.zeros((size, size), np.uint8)
            inst = np.zeros((size, size), np.uint16)
            photo = np.empty((size, size, 3), np.uint8)
            photo[:] = GREY
            for k in range(int(rng.integers(1, 4))):
                h, w = (int(v) for v in rng.integers(size // 6, size // 3, 2))
                y, x = (int(v) for v in rng.integers(0, size - max(h, w), 2))
                label[y:y + h, x:x + w] = 1
                inst[y:y + h, x:x + w] = 1000 + k
                photo[y:y + h, x:x + w] = RED if rng.random() < 0.5 else BLUE
            for folder, array in (("label", label), ("inst", inst), ("img", photo)):
                if split == "test" and folder == "img":
                    continue
                (root / f"{split}_{folder}").mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(root / f"{split}_{folder}" / f"scene_{i:03d}.png")
    return root


def measure(run: Path, data: Path) -> Dict[str, float]:
    """Nearest reachable car colour to red and blue, averaged over the test maps; the road's error."""
    import translate
    from translate.data.labels import read_label_map

    model = translate.load(run, device="cpu", precision="fp32")
    clusters = model.feature_clusters
    choices = [f"1={k}" for k in range(clusters.count(1))] if clusters is not None else [None]
    reach_red: List[float] = []
    reach_blue: List[float] = []
    road: List[float] = []
    for path in sorted((data / "test_label").glob("*.png")):
        label = read_label_map(path)
        car, grey = label == 1, label == 0
        colours = []
        for choice in choices:
            if choice is not None:
                model.choose_features(choice)
            out = model.translate_file(path).astype(np.float64)
            colours.append(out[car].mean(0))
            road.append(float(np.abs(out[grey] - GREY).mean()))
        reach_red.append(min(float(np.linalg.norm(c - RED)) for c in colours))
        reach_blue.append(min(float(np.linalg.norm(c - BLUE)) for c in colours))
    red, blue = statistics.mean(reach_red), statistics.mean(reach_blue)
    return {"to red": red, "to blue": blue, "both looks": max(red, blue), "road error": statistics.mean(road),
            "looks": float(len(choices))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--work", type=Path, default=ROOT / "datasets" / "bench_features")
    p.add_argument("--picture", type=Path, help="write the looks of seed 0's models here (PNG)")
    p.add_argument("--reuse", action="store_true", help="measure runs already in --work instead of training them")
    args = p.parse_args(argv)
    import torch
    import yaml

    import translate

    torch.set_num_threads(1)
    data = make_data(args.work / f"cars_{args.size}", args.size)
    rows: Dict[str, List[Dict[str, float]]] = {name: [] for name in VARIANTS}
    runs: Dict[int, Dict[str, Path]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name, extra in VARIANTS.items():
            started = time.perf_counter()
            run = args.work / "runs" / f"{name.replace(' ', '_')}_s{seed}"
            if not (args.reuse and (run / "translate.json").is_file()):
                settings = {k: yaml.safe_load(v) for k, v in (pair.split("=", 1) for pair in NETWORK + extra)}
                run = translate.train("pix2pixhd", data, steps=args.steps, name=run.name,
                                      checkpoints_dir=args.work / "runs", size=args.size, seed=seed, num_workers=0,
                                      precision="fp32", device="cpu", tensorboard=False, log_every=10_000,
                                      set=settings)
            result = measure(run, data)
            runs.setdefault(seed, {})[name] = run
            result["train s"] = time.perf_counter() - started
            rows[name].append(result)
            print(f"seed {seed} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()), flush=True)
    keys = ["to red", "to blue", "both looks", "road error", "looks", "train s"]
    print(f"\n{args.steps} steps, {args.size} px, seeds {args.seeds}; RGB distances (0-441), mean +- sd over seeds\n")
    print("| model | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, results in rows.items():
        cells = []
        for key in keys:
            values = [r[key] for r in results]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} +- {sd:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.picture:
        first = runs[min(runs)]
        picture(first["without encoder"], first["feature encoder"], data, args.picture)
        print(f"picture: {args.picture}")
    return 0


def picture(plain: Path, encoded: Path, data: Path, out: Path, maps: int = 3) -> None:
    """Rows of held-out label maps: the map | without the encoder | each cluster of label 1."""
    import torch

    import translate
    from translate.data import write_image
    from translate.data.labels import colorize, read_label_map
    from translate.pixels import from_unit

    without = translate.load(plain, device="cpu", precision="fp32")
    model = translate.load(encoded, device="cpu", precision="fp32")
    count = model.feature_clusters.count(1)
    rows = []
    for path in sorted((data / "test_label").glob("*.png"))[:maps]:
        ids = torch.from_numpy(read_label_map(path).astype(np.int64))
        cells = [from_unit(colorize(ids, 2))[0].permute(1, 2, 0).numpy(), without.translate_file(path)]
        for k in range(count):
            cells.append(model.choose_features(f"1={k}").translate_file(path))
        gap = np.full((cells[0].shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate([c for cell in cells for c in (cell, gap)][:-1], 1))
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    sheet = np.concatenate([r for row in rows for r in (row, gap)][:-1], 0)
    sheet = np.kron(sheet, np.ones((2, 2, 1), np.uint8))  # 64 px cells are small on a page
    out.parent.mkdir(parents=True, exist_ok=True)
    write_image(out, sheet)


if __name__ == "__main__":
    sys.exit(main())
