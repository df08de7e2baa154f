import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    yield


import numpy as np  # noqa: E402


def _write_png(path, array):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array[..., ::-1] if array.ndim == 3 else array)


def _smooth_image(rng, size):
    """A random smooth colour image: learnable structure, unlike white noise."""
    import cv2

    small = (rng.random((6, 6, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


@pytest.fixture
def unpaired_data(tmp_path):
    """trainA/ (smooth images) and trainB/ (their colour-inverted versions), 40x40."""
    rng = np.random.default_rng(0)
    root = tmp_path / "unpaired"
    for i in range(6):
        a = _smooth_image(rng, 40)
        _write_png(root / "trainA" / f"a{i}.png", a)
        _write_png(root / "trainB" / f"b{i}.png", 255 - _smooth_image(rng, 40))
    return root


@pytest.fixture
def paired_data(tmp_path):
    """train/ of side-by-side AB images, B = A with channels reversed, 40x40 halves."""
    rng = np.random.default_rng(1)
    root = tmp_path / "paired"
    for i in range(6):
        a = _smooth_image(rng, 40)
        _write_png(root / "train" / f"{i}.png", np.concatenate([a, a[..., ::-1]], axis=1))
    return root


# Tiny networks so a training step takes milliseconds.
TINY_CYCLEGAN = ["--set", "ngf=4", "--set", "ndf=4", "--set", "generator=resnet",
                 "--set", "generator_options={n_blocks: 1}", "--set", "n_layers_d=2"]
def torchrun_two_processes(args, port):
    """``python -m torch.distributed.run --nproc_per_node 2 -m translate ARGS`` on CPU (gloo), one
    OpenMP thread per process; the finished process (its return code and output)."""
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
                "-m", "translate"]
    return subprocess.run([*launcher, *args], env=env, capture_output=True, text=True, timeout=240)


TINY_PIX2PIX = ["--set", "ngf=4", "--set", "ndf=4", "--set", "generator=unet",
                "--set", "generator_options={num_downs: 5}", "--set", "n_layers_d=2"]


@pytest.fixture
def checkpoint(tmp_path):
    """A tiny CycleGAN run folder (the apply tests): a ResNet with instance norm and two stride-2
    levels, so a 1x1 or 2x2 image cannot go through it. Test modules may define their own."""
    from translate.checkpoint import GeneratorSpec, save_run

    spec = GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", "AtoB")
    folder = tmp_path / "ck"
    save_run(folder, {"AtoB": (spec.build(), spec)}, step=1, translator="cyclegan")
    return str(folder)
