"""The generator contract, for every name in ``GENERATORS``: it builds tiny, declares what it can do
on its class (issue 22: ``size_multiple``, ``supports_gradient_checkpointing``, ``feature_layers``;
no probing), keeps the input's size for every multiple of its size multiple, on batches of 1 and
2, and honours what it declares (checkpointed passes equal plain ones; feature layers return one
tensor per declared layer).
"""
from __future__ import annotations

from typing import List, Sequence

import pytest
import torch
from torch import nn

from translate.registry import GENERATORS

from .conftest import GENERATOR_RECIPES, multiple_at_least, recipe

torch.set_num_threads(1)

IN, OUT = 1, 3  # different channel counts, so a generator that mixes them up fails


def _build(name: str) -> nn.Module:
    r = recipe(GENERATOR_RECIPES, "generator", name)
    torch.manual_seed(0)
    return GENERATORS.build(name, in_channels=IN, out_channels=OUT, **r.kwargs)


def _sides(net: nn.Module, name: str):
    """Two multiples of the declared size multiple: a square and a wider, non-square one."""
    m = int(net.size_multiple)
    side = multiple_at_least(m, GENERATOR_RECIPES[name].min_side)
    return [(side, side), (side, side + m)]


def encoder_features(net: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> List[torch.Tensor]:
    """The encoder activations at ``layers`` (CUT's patch features): nets/contract.py's ``encode``."""
    return list(net.encode(x, layers))


NAMES = GENERATORS.names()


def test_every_registered_generator_has_a_recipe():
    assert sorted(GENERATOR_RECIPES) == NAMES, \
        "tests/contracts/conftest.py GENERATOR_RECIPES must name exactly the registered generators"


@pytest.mark.parametrize("name", NAMES)
def test_declares_its_capabilities_on_its_class(name):
    net = _build(name)
    cls = type(net)
    # Declared, not probed: the class says it (an instance may refine size_multiple from its depth).
    for attribute in ("size_multiple", "supports_gradient_checkpointing", "feature_layers"):
        assert attribute in dir(cls), f"{cls.__name__} ({name}) does not declare {attribute} on its class"
    multiple = net.size_multiple
    assert isinstance(multiple, int) and not isinstance(multiple, bool) and multiple >= 1, multiple
    assert isinstance(cls.supports_gradient_checkpointing, bool)
    layers = net.feature_layers
    assert isinstance(layers, tuple) and all(isinstance(layer, str) and layer for layer in layers), layers
    assert len(set(layers)) == len(layers), f"{name}: feature layers named twice: {layers}"


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_output_keeps_the_input_size_at_its_multiples(name, batch):
    net = _build(name).eval()
    g = torch.Generator().manual_seed(1)
    for h, w in _sides(net, name):
        x = torch.rand(batch, IN, h, w, generator=g) * 2 - 1
        with torch.no_grad():
            y = net(x)
        assert y.shape == (batch, OUT, h, w), (name, (h, w), tuple(y.shape))
        assert torch.isfinite(y).all() and y.min() >= -1 and y.max() <= 1, name


@pytest.mark.parametrize("name", NAMES)
def test_batch_items_are_translated_independently_in_eval_mode(name):
    # In eval mode (apply), a batch of two is the two images one by one: no batch statistics leak.
    net = _build(name).eval()
    h, w = _sides(net, name)[0]
    x = torch.rand(2, IN, h, w, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        both = net(x)
        one = torch.cat([net(x[:1]), net(x[1:])])
    torch.testing.assert_close(both, one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_checkpointing_changes_memory_not_results(name):
    net = _build(name)
    if not type(net).supports_gradient_checkpointing:
        net.set_gradient_checkpointing(True)  # a memory hint: a no-op where it is not supported
        assert net.gradient_checkpointing is False, f"{name} does not support checkpointing but took it on"
        return
    net.train()
    h, w = _sides(net, name)[0]
    x = torch.rand(2, IN, h, w, generator=torch.Generator().manual_seed(3)) * 2 - 1

    def run(checkpointed: bool):
        net.zero_grad()
        net.set_gradient_checkpointing(checkpointed)
        assert net.gradient_checkpointing is checkpointed
        torch.manual_seed(4)  # dropout draws the same masks both times
        y = net(x)
        y.square().mean().backward()
        return y.detach(), {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}

    plain, plain_grads = run(False)
    checkpointed, checkpointed_grads = run(True)
    torch.testing.assert_close(checkpointed, plain)
    assert plain_grads.keys() == checkpointed_grads.keys() and plain_grads
    for key in plain_grads:
        torch.testing.assert_close(checkpointed_grads[key], plain_grads[key], msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_declared_feature_layers_return_one_tensor_each(name):
    net = _build(name).eval()
    layers = net.feature_layers
    if not layers:
        return  # declares no encoder features
    h, w = _sides(net, name)[0]
    x = torch.rand(2, IN, h, w, generator=torch.Generator().manual_seed(5)) * 2 - 1
    features = encoder_features(net, x, layers)
    assert len(features) == len(layers), (name, layers, len(features))
    for layer, feature in zip(layers, features):
        assert isinstance(feature, torch.Tensor) and feature.dim() == 4, (layer, type(feature))
        assert feature.shape[0] == 2, (layer, feature.shape)
    if "input" in layers:  # the image itself, by nets/contract.py's convention
        torch.testing.assert_close(features[layers.index("input")], x)
    # A subset asks for just those layers, in the order asked.
    subset = list(reversed(layers[:2]))
    chosen = encoder_features(net, x, subset)
    assert len(chosen) == len(subset)
    for layer, feature in zip(subset, chosen):
        torch.testing.assert_close(feature, features[layers.index(layer)])
