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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

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
    "cut": TranslatorRecipe(unpaired_images, {
        "ngf": 4, "ndf": 4, "n_layers_d": 2, "generator": "resnet", "generator_options": {"n_blocks": 1},
        "num_patches": 16, "projection_channels": 8}),
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


# --------------------------------------------------------------------------- losses
#
# A loss recipe is what kornia's tests check: known values computed by hand from the formula
# in the loss's docstring, and the inputs ``torch.autograd.gradcheck`` differentiates through
# (float64, tiny). Each case takes ``build(**overrides)``, which builds the registered loss
# from the recipe's keyword arguments.


@dataclass(frozen=True)
class Known:
    what: str
    value: Callable[[Callable[..., Any]], Any]  # build -> the loss's value (a scalar tensor)
    expected: float
    atol: float = 1e-6


@dataclass(frozen=True)
class Differentiable:
    what: str
    make: Callable[[Callable[..., Any]], Tuple[Callable[..., Any], Tuple[Any, ...]]]  # build -> (fn, float64 inputs)


@dataclass(frozen=True)
class LossRecipe:
    kwargs: Dict[str, Any]
    known: Tuple[Known, ...]
    gradcheck: Tuple[Differentiable, ...]


def _t(*shape: int, seed: int = 0, low: float = -1.0, high: float = 1.0, dtype=None):
    import torch

    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=dtype or torch.float32) * (high - low) + low)


def _f64(*shape: int, seed: int = 0, low: float = -1.0, high: float = 1.0, grad: bool = True):
    import torch

    return _t(*shape, seed=seed, low=low, high=high, dtype=torch.float64).requires_grad_(grad)


def _full(value: float, *shape: int):
    import torch

    return torch.full(shape, float(value))


def _half_mask():
    """1 on the top half of a 4x4 image, 0 below."""
    mask = _full(0, 1, 1, 4, 4)
    mask[..., :2, :] = 1
    return mask


def _outside_only():
    """A target that differs from zeros by 2 only where _half_mask() is 0."""
    target = _full(0, 1, 3, 4, 4)
    target[..., 2:, :] = 2
    return target


def _pixel_pair(fn):
    """(fn, (pred, target)) on distinct float64 images: |pred - target| never 0, so L1 is smooth there."""
    return fn, (_f64(1, 2, 3, 3, seed=1), _f64(1, 2, 3, 3, seed=2, low=1.5, high=2.5))


def _ssim_constant(a: float, b: float, c1: float = 0.01 ** 2) -> float:
    """1 - SSIM of two constant images with values a, b in [0, 1]: no variance, so the contrast-structure
    term is (0 + C2) / (0 + C2) = 1 and SSIM = (2ab + C1) / (a^2 + b^2 + C1)."""
    return 1 - (2 * a * b + c1) / (a * a + b * b + c1)


def _relu1_1(loss, x):
    """phi(x) = relu1_1 of the loss's own (random) VGG, written out: ImageNet normalisation, conv, ReLU."""
    import torch.nn.functional as F

    mean, std = loss.mean.to(x.dtype), loss.std.to(x.dtype)
    conv = loss.features[0]
    return F.relu(F.conv2d(((x + 1) / 2 - mean) / std, conv.weight.to(x.dtype), conv.bias.to(x.dtype), padding=1))


def _perceptual_by_hand(build):
    loss = build()
    p, t = _t(1, 3, 8, 8, seed=3), _t(1, 3, 8, 8, seed=4)
    return loss(p, t), 2.0 * (_relu1_1(loss, p) - _relu1_1(loss, t)).abs().mean()


def _perceptual_known(build):
    value, expected = _perceptual_by_hand(build)
    return value - expected  # compared with 0: the expected value itself depends on the random weights


def _perceptual_gradcheck(build):
    loss, target = build().double(), _f64(1, 3, 5, 5, seed=2, grad=False)
    return (lambda pred: loss(pred, target)), (_f64(1, 3, 5, 5, seed=1),)


def _features(*values: float, batch: int = 1):
    """One scale: a feature per value (constant tensors of growing channel count), then a prediction."""
    feats = [_full(v, batch, i + 2, 4, 4) for i, v in enumerate(values)]
    return feats + [_t(batch, 1, 2, 2, seed=len(values))]


def _gradient_penalty(weight_norm: float, weight: float = 10.0):
    """For a linear critic D(x) = sum(w * x), grad_x D = w everywhere: the penalty is weight * (||w|| - 1)^2."""
    import torch

    from translate.losses import gradient_penalty

    w = torch.full((1, 3, 2, 2), weight_norm / (12 ** 0.5))
    return gradient_penalty(lambda x: (x * w).sum(dim=(1, 2, 3)), _t(2, 3, 2, 2, seed=5), _t(2, 3, 2, 2, seed=6),
                            weight=weight)


def _softplus(x: float) -> float:
    import math

    return math.log1p(math.exp(x))


# Constant discriminator outputs, on two scales (per-scale losses are summed): real 0.5, fake -0.25.
REAL, FAKE = 0.5, -0.25
ADVERSARIAL_BY_HAND = {  # mode: (generator_loss(FAKE), discriminator_loss(REAL, FAKE)) for one scale
    "vanilla": (_softplus(-FAKE), 0.5 * (_softplus(-REAL) + _softplus(FAKE))),
    "lsgan": ((FAKE - 1) ** 2, 0.5 * ((REAL - 1) ** 2 + FAKE ** 2)),
    "wgangp": (-FAKE, FAKE - REAL),
    "hinge": (-FAKE, max(0.0, 1 - REAL) + max(0.0, 1 + FAKE)),
}


def _two_scales(value: float):
    return [_full(value, 2, 1, 3, 3), _full(value, 2, 1, 2, 2)]


def _adversarial_known() -> Tuple[Known, ...]:
    cases = []
    for mode, (g, d) in ADVERSARIAL_BY_HAND.items():
        cases.append(Known(f"{mode} generator, constant fake", lambda b, m=mode: b(mode=m).generator_loss(
            _two_scales(FAKE)), 2 * g))
        cases.append(Known(f"{mode} discriminator, constant real and fake", lambda b, m=mode: b(
            mode=m).discriminator_loss(_two_scales(REAL), _two_scales(FAKE)), 2 * d))
        cases.append(Known(f"{mode} one scale as a tensor", lambda b, m=mode: b(mode=m)(_full(FAKE, 2, 1, 3, 3)), g))
    cases.append(Known("gradient penalty of a linear critic with ||w|| = 2", lambda b: _gradient_penalty(2.0), 10.0,
                       atol=1e-4))
    cases.append(Known("gradient penalty of a linear critic with ||w|| = 1", lambda b: _gradient_penalty(1.0), 0.0,
                       atol=1e-4))
    return tuple(cases)


def _adversarial_gradcheck() -> Tuple[Differentiable, ...]:
    # Predictions in (-0.5, 0.5): away from hinge's kinks at -1 and 1.
    cases = []
    for mode in ADVERSARIAL_BY_HAND:
        cases.append(Differentiable(f"{mode} generator", lambda b, m=mode: (
            lambda f: b(mode=m).generator_loss([f, f[..., :2, :2] * 2]), (_f64(2, 1, 3, 3, low=-.5, high=.5),))))
        cases.append(Differentiable(f"{mode} discriminator", lambda b, m=mode: (
            lambda r, f: b(mode=m).discriminator_loss(r, f),
            (_f64(2, 1, 3, 3, seed=1, low=-.5, high=.5), _f64(2, 1, 3, 3, seed=2, low=-.5, high=.5)))))
    return tuple(cases)


LOSS_RECIPES: Dict[str, LossRecipe] = {
    "l1": LossRecipe({}, (
        Known("identical inputs", lambda b: b()(_t(2, 3, 4, 4), _t(2, 3, 4, 4)), 0.0),
        Known("zeros against 0.5", lambda b: b()(_full(0, 1, 3, 4, 4), _full(0.5, 1, 3, 4, 4)), 0.5),
        Known("half the elements off by 2", lambda b: b()(_outside_only(), _full(0, 1, 3, 4, 4)), 1.0),
    ), (Differentiable("pred and target", lambda b: _pixel_pair(b())),)),
    "mse": LossRecipe({}, (
        Known("identical inputs", lambda b: b()(_t(2, 3, 4, 4), _t(2, 3, 4, 4)), 0.0),
        Known("zeros against 2", lambda b: b()(_full(0, 1, 3, 4, 4), _full(2, 1, 3, 4, 4)), 4.0),
        Known("half the elements off by 2", lambda b: b()(_outside_only(), _full(0, 1, 3, 4, 4)), 2.0),
    ), (Differentiable("pred and target", lambda b: _pixel_pair(b())),)),
    "masked_l1": LossRecipe({"background_weight": 0.25}, (
        Known("identical inputs", lambda b: b()(_t(1, 3, 4, 4), _t(1, 3, 4, 4), _half_mask()), 0.0),
        # w = 1 on the top half, 0.25 below; error 2 only below: (0.25 * 2 * 8) / (1 * 8 + 0.25 * 8) = 0.4
        Known("error outside the mask, background 0.25", lambda b: b()(
            _full(0, 1, 3, 4, 4), _outside_only(), _half_mask()), 0.4),
        Known("error outside the mask, background 0", lambda b: b(background_weight=0.0)(
            _full(0, 1, 3, 4, 4), _outside_only(), _half_mask()), 0.0),
        Known("all-ones mask is the plain L1", lambda b: b()(
            _full(0, 1, 3, 4, 4), _outside_only(), _full(1, 1, 1, 4, 4)), 1.0),
    ), (Differentiable("pred, target and a soft mask", lambda b: (b(), (
        _f64(1, 2, 3, 3, seed=1), _f64(1, 2, 3, 3, seed=2, low=1.5, high=2.5),
        _f64(1, 1, 3, 3, seed=3, low=.2, high=.8)))),)),
    "ssim": LossRecipe({"window_size": 5}, (
        Known("identical inputs", lambda b: b()(_t(1, 3, 16, 16), _t(1, 3, 16, 16)), 0.0, atol=1e-5),
        # Constant images -0.5 and 0.5 are 0.25 and 0.75 in [0, 1]. float32 variances cancel to ~1e-4.
        Known("constant 0.25 against 0.75", lambda b: b()(_full(-0.5, 1, 1, 16, 16), _full(0.5, 1, 1, 16, 16)),
              _ssim_constant(0.25, 0.75), atol=3e-4),
    ), (Differentiable("pred and target", lambda b: (b(), (_f64(1, 1, 6, 6, seed=1), _f64(1, 1, 6, 6, seed=2)))),)),
    # Random VGG weights (pretrained=False), never a download; one shallow layer keeps it cheap.
    "perceptual": LossRecipe({"pretrained": False, "layers": ["relu1_1"], "layer_weights": [2.0]}, (
        Known("identical inputs", lambda b: b()(_t(1, 3, 8, 8), _t(1, 3, 8, 8)), 0.0),
        Known("2 * mean|relu1_1(pred) - relu1_1(target)| by hand", _perceptual_known, 0.0, atol=1e-5),
        Known("a grey image is its RGB repeat", lambda b: (lambda loss: loss(_t(1, 1, 8, 8), _t(1, 3, 8, 8, seed=1))
              - loss(_t(1, 1, 8, 8).repeat(1, 3, 1, 1), _t(1, 3, 8, 8, seed=1)))(b()), 0.0, atol=1e-6),
    ), (Differentiable("pred (the target is a fixed, no-grad target)", _perceptual_gradcheck),)),
    # One scale [f1, f2, prediction]: F = 2 features, each weighing (1 / S) * (4 / F) = 2.
    "feature_matching": LossRecipe({}, (
        Known("identical features", lambda b: b()([_features(0.3, 0.7)], [_features(0.3, 0.7)]), 0.0),
        Known("one scale: 2 * (0.5 + 1.0)", lambda b: b()([_features(0, 0)], [_features(0.5, 1.0)]), 3.0),
        Known("a flat list is one scale", lambda b: b()(_features(0, 0), _features(0.5, 1.0)), 3.0),
        Known("two equal scales average, not add", lambda b: b()([_features(0, 0)] * 2, [_features(0.5, 1.0)] * 2),
              3.0),
        Known("three features weigh 4/3 each", lambda b: b()([_features(0, 0, 0)], [_features(0.75, 0, 0)]), 1.0),
    ), (Differentiable("fake features", lambda b: (
        lambda f1, f2: b()([[_t(1, 2, 3, 3, seed=7, dtype=f1.dtype), _t(1, 3, 3, 3, seed=8, dtype=f1.dtype),
                             _t(1, 1, 2, 2, dtype=f1.dtype)]], [[f1, f2, _t(1, 1, 2, 2, dtype=f1.dtype)]]),
        (_f64(1, 2, 3, 3, seed=1, low=1.5, high=2), _f64(1, 3, 3, 3, seed=2, low=1.5, high=2)))),)),
    "adversarial": LossRecipe({}, _adversarial_known(), _adversarial_gradcheck()),
    # Two patches with orthogonal unit features: each row is [1/tau, 0], so the loss is
    # -log(e^(1/tau) / (e^(1/tau) + 1)) = log(1 + e^(-1/tau)); equal features give log 2.
    "patchnce": LossRecipe({"temperature": 1.0}, (
        Known("orthogonal patches, tau 1", lambda b: b()(_eye_patches(), _eye_patches()), math.log(1 + math.exp(-1))),
        Known("orthogonal patches, tau 0.5", lambda b: b(temperature=0.5)(_eye_patches(), _eye_patches()),
              math.log(1 + math.exp(-2)), atol=1e-6),
        Known("identical keys: every candidate alike", lambda b: b()(_eye_patches(), _full(0.5 ** 0.5, 1, 2, 2)),
              math.log(2), atol=1e-6),
        Known("batch negatives: 4 candidates", lambda b: b(negatives_from_batch=True)(
            _eye_patches().repeat(2, 1, 1), _eye_patches().repeat(2, 1, 1)),
              -math.log(math.e / (2 * math.e + 2)), atol=1e-6),
    ), (Differentiable("queries (keys are constants)", lambda b: (
        lambda q: b()(q, _t(2, 3, 4, seed=5, dtype=q.dtype)), (_f64(2, 3, 4, seed=4),))),)),
}


def _eye_patches():
    """One image, two patches with orthogonal unit features: B x N x C = 1 x 2 x 2."""
    import torch

    return torch.eye(2).unsqueeze(0)


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


