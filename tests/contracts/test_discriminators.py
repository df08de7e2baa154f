"""The discriminator contract, for every name in ``DISCRIMINATORS`` (nets/discriminators.py's one API):
``forward(x)`` is a prediction map or a list of them (one per scale, ``num_scales`` long), with
one row per image; ``forward_features(x)`` is per scale the block activations ending with that
very prediction; gradients reach the input and every parameter; the batch is judged per image.
"""
from __future__ import annotations

from typing import List

import pytest
import torch
from torch import nn

from translate.registry import DISCRIMINATORS

from .conftest import DISCRIMINATOR_RECIPES, recipe

torch.set_num_threads(1)

CHANNELS = 6  # a conditional discriminator's (input, output) pair, as pix2pix feeds it
NAMES = DISCRIMINATORS.names()


def _build(name: str) -> nn.Module:
    r = recipe(DISCRIMINATOR_RECIPES, "discriminator", name)
    torch.manual_seed(0)
    return DISCRIMINATORS.build(name, in_channels=CHANNELS, **r.kwargs)


def _input(name: str, batch: int = 2, requires_grad: bool = False) -> torch.Tensor:
    side = DISCRIMINATOR_RECIPES[name].size
    x = torch.rand(batch, CHANNELS, side, side, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return x.requires_grad_(requires_grad)


def _scales(out) -> List[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else list(out)


def test_every_registered_discriminator_has_a_recipe():
    assert sorted(DISCRIMINATOR_RECIPES) == NAMES, \
        "tests/contracts/conftest.py DISCRIMINATOR_RECIPES must name exactly the registered discriminators"


@pytest.mark.parametrize("name", NAMES)
def test_predictions_have_one_map_per_image_and_scale(name):
    d = _build(name)
    x = _input(name)
    out = d(x)
    scales = _scales(out)
    assert len(scales) == d.num_scales, (name, len(scales), d.num_scales)
    side = x.shape[-1]
    for prediction in scales:
        assert prediction.dim() == 4 and prediction.shape[:2] == (2, 1), (name, tuple(prediction.shape))
        assert 1 <= prediction.shape[-1] <= side and 1 <= prediction.shape[-2] <= side
        assert torch.isfinite(prediction).all()
    # Finest first: no coarser scale has a larger map.
    sizes = [p.shape[-1] for p in scales]
    assert sizes == sorted(sizes, reverse=True), sizes


@pytest.mark.parametrize("name", NAMES)
def test_features_end_with_the_prediction(name):
    d = _build(name).eval()
    x = _input(name)
    with torch.no_grad():
        features = d.forward_features(x)
        predictions = _scales(d(x))
    assert isinstance(features, list) and len(features) == len(predictions) == d.num_scales
    for scale, prediction in zip(features, predictions):
        assert isinstance(scale, list) and scale, name
        assert all(isinstance(f, torch.Tensor) and f.shape[0] == 2 for f in scale)
        torch.testing.assert_close(scale[-1], prediction)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_the_input_and_every_parameter(name):
    d = _build(name).train()
    x = _input(name, requires_grad=True)
    # A loss that depends on every prediction value, so no parameter is legitimately idle.
    loss = sum((p - 0.3).square().mean() for p in _scales(d(x)))
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0, name
    idle = [n for n, p in d.named_parameters()
            if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0)]
    assert not idle, f"{name}: no gradient reaches {idle}"


@pytest.mark.parametrize("name", NAMES)
def test_batch_items_are_judged_independently_in_eval_mode(name):
    d = _build(name).eval()
    x = _input(name)
    with torch.no_grad():
        both = _scales(d(x))
        one = [torch.cat(pair) for pair in zip(_scales(d(x[:1])), _scales(d(x[1:])))]
    for a, b in zip(both, one):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
