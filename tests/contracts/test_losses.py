"""The loss contract, for every name in ``LOSSES`` (kornia's loss tests are the model): values
computed by hand from the docstring's formula, a scalar result, and ``gradcheck`` in float64
on tiny tensors. The cases are the recipes in conftest.py (LOSS_RECIPES).
"""
from __future__ import annotations

import pytest
import torch

from translate.registry import LOSSES

from .conftest import LOSS_RECIPES, recipe

torch.set_num_threads(1)

NAMES = LOSSES.names()


def _builder(name: str):
    r = recipe(LOSS_RECIPES, "loss", name)

    def build(**overrides):
        return LOSSES.build(name, **{**r.kwargs, **overrides})

    return r, build


def test_every_registered_loss_has_a_recipe():
    assert sorted(LOSS_RECIPES) == NAMES, \
        "tests/contracts/conftest.py LOSS_RECIPES must name exactly the registered losses"


@pytest.mark.parametrize("name", NAMES)
def test_known_values(name):
    r, build = _builder(name)
    assert r.known, f"{name}: a loss recipe needs at least one known value"
    wrong = []
    for case in r.known:
        value = case.value(build)
        assert isinstance(value, torch.Tensor) and value.dim() == 0, (case.what, value)
        if abs(float(value) - case.expected) > case.atol:
            wrong.append(f"{case.what}: got {float(value):.6g}, expected {case.expected:.6g}")
    assert not wrong, f"{name}: " + "; ".join(wrong)


@pytest.mark.parametrize("name", NAMES)
def test_float32_inputs_give_a_float32_scalar(name):
    r, build = _builder(name)
    value = r.known[0].value(build)
    assert value.dtype == torch.float32 and torch.isfinite(value)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_in_float64(name):
    r, build = _builder(name)
    assert r.gradcheck, f"{name}: a differentiable loss's recipe says what gradcheck differentiates"
    failed = []
    for case in r.gradcheck:
        fn, inputs = case.make(build)
        assert all(x.dtype == torch.float64 for x in inputs if isinstance(x, torch.Tensor))
        out = fn(*inputs)
        if out.dtype != torch.float64:
            # gradcheck's 1e-6 steps vanish in a float32 computation: its Jacobians cannot match.
            failed.append(f"{case.what}: float64 inputs were computed in {out.dtype}")
            continue
        try:
            torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
        except Exception as exc:  # GradcheckError: report every case, not only the first
            failed.append(f"{case.what}: {' '.join(str(exc).split())[:200]}")
    assert not failed, f"{name}: " + "; ".join(failed)
