"""A tiny label-map dataset whose photos the label map cannot fully say (pix2pixHD's feature encoder's case),
and a feature-encoder model trained on it in seconds. Shared by the translator and serve tests."""
from pathlib import Path

import numpy as np
from PIL import Image

TINY = ["ngf=8", "ndf=4", "n_downsample_global=2", "n_blocks_global=1", "n_layers_d=2", "lambda_perceptual=0",
        "feature_width=4", "n_downsample_features=2", "tensorboard=false"]
RED, BLUE, GREY = (220, 30, 30), (30, 30, 220), (90, 90, 90)


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_cars(root: Path) -> Path:
    """Label 1 = cars (two per image, each its own instance), red or blue; label 0 = grey road."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for i in range(n):
            label = np.zeros((32, 32), np.uint8)
            inst = np.zeros((32, 32), np.uint16)
            photo = np.full((32, 32, 3), GREY, np.uint8)
            for k, (y, x) in enumerate(((2, 2), (18, 16))):
                label[y:y + 12, x:x + 12] = 1
                inst[y:y + 12, x:x + 12] = 1000 + k
                photo[y:y + 12, x:x + 12] = RED if rng.random() < 0.5 else BLUE
            _save(root / f"{split}_label" / f"c{i}.png", label)
            _save(root / f"{split}_inst" / f"c{i}.png", inst)
            if split == "train":
                _save(root / f"{split}_img" / f"c{i}.png", photo)
    return root


def tiny_flags(*pairs: str) -> list:
    return sum((["--set", p] for p in TINY + list(pairs)), [])


def train_feature_model(data: Path, out: Path, name: str = "feat", steps: int = 8) -> Path:
    from translate.cli import main

    assert main(["train", "pix2pixhd", "--data", str(data), "--name", name, "--checkpoints-dir", str(out),
                 "--size", "32", "--steps", str(steps), "--num-workers", "0",
                 *tiny_flags("features=instance", "feature_clusters=3")]) == 0
    return out / name
