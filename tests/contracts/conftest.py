"""Tiny recipes for every registry entry: the one thing a new entry's author adds here.

The contract tests are parametrised over the registries themselves (``TRANSLATORS.names()``,
``GENERATORS.names()`` ...), as timm's tests run over ``list_models()``: registering a
translator, generator, discriminator or loss puts it under test. What the tests cannot guess
is how to make the entry *tiny* (a few channels, one block, 32 px) and what data it trains
on; that is a recipe below. An entry without one fails ``test_every_*_has_a_recipe`` and its
own contract tests with a message saying where to add it.

Recipes are small on purpose: the whole folder should run in about two minutes on two busy
CPU cores.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import pytest
from PIL import Image

HERE = "tests/contracts/conftest.py"


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _smooth(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth random colour image (learnable structure, unlike white noise)."""
    small = Image.fromarray((rng.random((4, 4, 3)) * 255).astype(np.uint8))
    return np.asarray(small.resize((w, h), Image.BICUBIC))


# --------------------------------------------------------------------------- tiny data layouts


def paired_images(root: Path) -> Path:
    """train/ of side-by-side A|B images (40x40 halves), B = A with its channels reversed."""
    rng = np.random.default_rng(1)
    for i in range(6):
        a = _smooth(rng, 40, 40)
        _save(root / "train" / f"{i}.png", np.concatenate([a, a[..., ::-1]], axis=1))
    return root


def unpaired_images(root: Path) -> Path:
    """trainA/ and trainB/ of six 40x40 images each (no face masks: faceswap weighs every pixel)."""
    rng = np.random.default_rng(0)
    for i in range(6):
        _save(root / "trainA" / f"a{i}.png", _smooth(rng, 40, 40))
        _save(root / "trainB" / f"b{i}.png", 255 - _smooth(rng, 40, 40))
    return root


_COLOURS = np.array([[0, 0, 0], [200, 30, 30], [30, 200, 30], [30, 30, 200]], np.uint8)


def label_maps(root: Path) -> Path:
    """pix2pixHD's layout: train_label/ (ids 0..3), train_inst/ (instance ids), train_img/ (a colour per id)."""
    rng = np.random.default_rng(2)
    for i in range(4):
        label = np.kron(rng.integers(0, 4, (4, 5)).astype(np.uint8), np.ones((9, 9), np.uint8))[:32, :40]
        label[0, 0] = 3  # every map holds the largest id, so num_classes is 4 whatever the draw
        _save(root / "train_label" / f"c_{i:03d}_gtFine_labelIds.png", label)
        _save(root / "train_inst" / f"c_{i:03d}_gtFine_instanceIds.png", label.astype(np.uint16) * 1000)
        _save(root / "train_img" / f"c_{i:03d}_leftImg8bit.png", _COLOURS[label])
    return root


def pose_frames(root: Path) -> Path:
    """A dance clip: train_A/ stick figures and train_B/ frames, consecutive names, plus figure.json."""
    from pose_clips import walker  # tests/pose_clips.py: a coco18 figure whose arms swing
    from translate.people.poses.render import render_pose

    for i in range(5):
        figure = render_pose(walker(i * 0.8), (32, 32))
        frame = np.full_like(figure, 40)
        frame[figure.max(-1) > 0] = (220, 180, 150)
        _save(root / "train_A" / f"clip_{i:06d}.png", figure)
        _save(root / "train_B" / f"clip_{i:06d}.png", frame)
    (root / "figure.json").write_text(json.dumps({"skeleton": "coco18", "mode": "colour", "min_confidence": 0.3,
                                                  "thickness": None, "smooth": 5}))
    return root


# --------------------------------------------------------------------------- translators


@dataclass(frozen=True)
class TranslatorRecipe:
    """How to train a translator tiny: its data layout and the config keys (``--set``) that shrink it."""

    data: Callable[[Path], Path]
    options: Dict[str, Any]
    size: int = 32


TRANSLATOR_RECIPES: Dict[str, TranslatorRecipe] = {
    "pix2pix": TranslatorRecipe(paired_images, {
        "ngf": 4, "ndf": 4, "n_layers_d": 2, "generator": "unet", "generator_options": {"num_downs": 3}}),
    "cyclegan": TranslatorRecipe(unpaired_images, {
        "ngf": 4, "ndf": 4, "n_layers_d": 2, "generator": "resnet", "generator_options": {"n_blocks": 1},
        "pool_size": 3}),
    "discogan": TranslatorRecipe(unpaired_images, {"ngf": 4, "ndf": 4}),
    "cogan": TranslatorRecipe(unpaired_images, {
        "ngf": 4, "ndf": 4, "nef": 4, "latent_dim": 8, "invert_iterations": 2, "invert_restarts": 2}),
    "faceswap": TranslatorRecipe(unpaired_images, {
        "ngf": 4, "ndf": 4, "n_layers_d": 2, "n_layers_d2": 1, "second_discriminator": True,
        "generator": "unet", "generator_options": {"num_downs": 3}}),
    "pix2pixhd": TranslatorRecipe(label_maps, {
        "ngf": 4, "ndf": 4, "n_downsample_global": 2, "n_blocks_global": 1, "n_layers_d": 2,
        "lambda_perceptual": 0}),
    "pose2frame": TranslatorRecipe(pose_frames, {
        "ngf": 4, "ndf": 4, "n_downsample_global": 2, "n_blocks_global": 1, "n_layers_d": 2,
        "lambda_perceptual": 0, "flip": False}),
}


# --------------------------------------------------------------------------- generators


@dataclass(frozen=True)
class GeneratorRecipe:
    """Builder keyword arguments that make a generator tiny; channels are the test's (1 in, 3 out)."""

    kwargs: Dict[str, Any]
    # The smallest side the test feeds: a multiple of size_multiple at least this large, so
    # that instance norm at the bottleneck has more than one pixel to normalise.
    min_side: int = 16


GENERATOR_RECIPES: Dict[str, GeneratorRecipe] = {
    "unet": GeneratorRecipe({"ngf": 4, "num_downs": 3}),
    "unet_128": GeneratorRecipe({"ngf": 2}),
    "unet_256": GeneratorRecipe({"ngf": 2}),
    "resnet": GeneratorRecipe({"ngf": 4, "n_blocks": 1}),
    "resnet_6blocks": GeneratorRecipe({"ngf": 4}),
    "resnet_9blocks": GeneratorRecipe({"ngf": 4}),
    "pix2pixhd_global": GeneratorRecipe({"ngf": 4, "n_downsampling": 2, "n_blocks": 1}),
    "pix2pixhd_local": GeneratorRecipe({"ngf": 4, "n_downsampling": 2, "n_blocks": 1, "n_blocks_local": 1}),
    "encoder_decoder": GeneratorRecipe({"ngf": 4, "image_size": 16}),
    "cogan_inverter": GeneratorRecipe({"ngf": 4, "latent_dim": 8, "size": 16, "encoder": True, "nef": 4,
                                       "iterations": 2, "restarts": 2}),
}


# --------------------------------------------------------------------------- discriminators


@dataclass(frozen=True)
class DiscriminatorRecipe:
    kwargs: Dict[str, Any]
    size: int = 32  # the input side it judges (32 or 64 px)


DISCRIMINATOR_RECIPES: Dict[str, DiscriminatorRecipe] = {
    "patchgan": DiscriminatorRecipe({"ndf": 4, "n_layers": 2}),
    "pixel": DiscriminatorRecipe({"ndf": 4}),
    "multiscale": DiscriminatorRecipe({"ndf": 4, "n_layers": 2, "num_scales": 2}),
    # forward_features needs 64 px (the reference matches features of 64x64 images).
    "discogan": DiscriminatorRecipe({"ndf": 4, "n_layers": 4}, size=64),
}


# --------------------------------------------------------------------------- lookups


def recipe(table: Dict[str, Any], kind: str, name: str) -> Any:
    """The recipe of ``name``; a registered entry without one fails, saying where to add it."""
    if name not in table:
        pytest.fail(f"{kind} {name!r} is registered but has no tiny recipe: add one to {HERE} "
                    f"({kind.upper()}_RECIPES), so the contract tests can build it small", pytrace=False)
    return table[name]


def multiple_at_least(multiple: int, side: int) -> int:
    """The smallest multiple of ``multiple`` that is >= ``side``."""
    return -(-side // multiple) * multiple


def off_multiple_size(multiple: int) -> Tuple[int, int]:
    """(H, W), both >= 5 and neither a multiple of ``multiple`` when it is > 1: what apply pads."""
    h, w = 2 * multiple + 3, 3 * multiple + 1
    return max(h, 7), max(w, 5)


def stable_id(value: Any) -> Optional[str]:
    return str(value)


@pytest.fixture
def seeded():
    import torch

    torch.manual_seed(0)
    return torch.Generator().manual_seed(0)


__all__ = [
    "DISCRIMINATOR_RECIPES", "GENERATOR_RECIPES", "TRANSLATOR_RECIPES", "DiscriminatorRecipe", "GeneratorRecipe",
    "TranslatorRecipe", "field", "multiple_at_least", "off_multiple_size", "recipe",
]
