"""The translator contract, for every name in ``TRANSLATORS``: one training step through the real
loop, a run folder that reloads, a resume that equals a straight run bit for bit, and saved
generators that translate an image whose size is not a multiple of their size multiple.

Each translator trains three times (tiny, 32 px, fp32 on CPU): ``straight`` for 2 steps, and
``resumed`` for 1 step, then resumed to 2. The runs are made once per translator and shared
by the tests below.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import translate
from translate import checkpoint as ckpt
from translate.registry import TRANSLATORS

from .conftest import TRANSLATOR_RECIPES, off_multiple_size, recipe

torch.set_num_threads(1)


@dataclass
class Runs:
    name: str
    straight: Path  # 2 steps in one call
    after_one: Dict[str, Any]  # the resumed run's metadata and training state right after step 1
    resumed: Path  # 1 step, then --resume to step 2


def _train(name: str, data: Path, ck: Path, run: str, steps: int, resume: bool = False) -> Path:
    r = TRANSLATOR_RECIPES[name]
    return translate.train(name, data, steps=steps, name=run, checkpoints_dir=ck, resume=resume, set=r.options,
                           size=r.size, num_workers=0, precision="fp32", device="cpu", tensorboard=False,
                           seed=3, log_every=1)


@pytest.fixture(scope="module", params=TRANSLATORS.names())
def runs(request, tmp_path_factory) -> Runs:
    name = request.param
    r = recipe(TRANSLATOR_RECIPES, "translator", name)
    root = tmp_path_factory.mktemp(f"contract_{name}")
    data = r.data(root / "data")
    ck = root / "ck"
    straight = _train(name, data, ck, "straight", steps=2)
    resumed = _train(name, data, ck, "resumed", steps=1)
    after_one = {"metadata": ckpt.read_metadata(resumed), "state": ckpt.load_training_state(resumed),
                 "weights": {d: load_file(str(resumed / ckpt.generator_file(d)))
                             for d in ckpt.read_metadata(resumed)["generators"]}}
    _train(name, data, ck, "resumed", steps=2, resume=True)
    return Runs(name, straight, after_one, resumed)


def test_every_registered_translator_has_a_recipe():
    assert sorted(TRANSLATOR_RECIPES) == TRANSLATORS.names(), \
        "tests/contracts/conftest.py TRANSLATOR_RECIPES must name exactly the registered translators"


def test_one_step_writes_a_run_that_rebuilds_itself(runs):
    meta, state = runs.after_one["metadata"], runs.after_one["state"]
    assert meta["step"] == 1 and state["step"] == 1
    assert meta["generators"], "a run exports at least one generator"
    assert (runs.resumed / ckpt.CONFIG_FILE).exists()
    for direction, weights in runs.after_one["weights"].items():
        assert all(torch.isfinite(t).all() for t in weights.values()), direction
    # The nets and optimisers the loop saved are complete: every network has weights.
    assert state["generators"] and state["discriminators"]


def test_run_folder_reloads_without_architecture_flags(runs):
    meta = ckpt.read_metadata(runs.resumed)
    for direction in meta["generators"]:
        net, spec = ckpt.load_generator(runs.resumed, direction)
        assert spec.translator == runs.name and spec.direction == direction
        saved = load_file(str(runs.resumed / ckpt.generator_file(direction)))
        assert net.state_dict().keys() >= saved.keys()
        for key, value in saved.items():
            assert torch.equal(net.state_dict()[key], value), (direction, key)
        model = translate.load(runs.resumed, direction, device="cpu", precision="fp32")
        assert model.spec.architecture == spec.architecture and model.spec.in_channels == spec.in_channels
        loaded = model.generator.state_dict()
        for key, value in saved.items():
            assert torch.equal(loaded[key], value), (direction, key)


def _tensors(value: Any, prefix: str = ""):
    """(path, tensor) of every tensor in a nested training state."""
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key in value:
            yield from _tensors(value[key], f"{prefix}/{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{prefix}/{i}")


def test_resume_equals_a_straight_run_bit_for_bit(runs):
    a_meta, b_meta = ckpt.read_metadata(runs.straight), ckpt.read_metadata(runs.resumed)
    assert a_meta["step"] == b_meta["step"] == 2
    for direction in a_meta["generators"]:
        a = load_file(str(runs.straight / ckpt.generator_file(direction)))
        b = load_file(str(runs.resumed / ckpt.generator_file(direction)))
        assert a.keys() == b.keys()
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        assert not differ, f"{runs.name} {direction}: resumed weights differ from a straight run at {differ[:5]}"
        before = runs.after_one["weights"][direction]
        assert any(not torch.equal(before[k], b[k]) for k in b), "step 2 changed nothing: the resume did not train"
    sa, sb = ckpt.load_training_state(runs.straight), ckpt.load_training_state(runs.resumed)
    ta, tb = dict(_tensors(sa)), dict(_tensors(sb))
    assert ta.keys() == tb.keys()
    differ = [k for k in ta if ta[k].shape != tb[k].shape or not torch.equal(ta[k], tb[k])]
    assert not differ, f"{runs.name}: resumed training state differs from a straight run at {differ[:5]}"


def _input_for(model, h: int, w: int) -> torch.Tensor:
    """A batch the generator reads, in [-1, 1]: one-hot ids for label maps, images otherwise."""
    g = torch.Generator().manual_seed(0)
    c = model.spec.in_channels
    if model.input_kind == "label":
        classes = int(model.preprocess["num_classes"])
        ids = torch.randint(0, classes, (1, h, w), generator=g)
        x = torch.nn.functional.one_hot(ids, classes).permute(0, 3, 1, 2).float()
        extra = c - classes  # the instance-edge channel
        return torch.cat([x, torch.zeros(1, extra, h, w)], 1) if extra else x
    return torch.rand(1, c, h, w, generator=g) * 2 - 1


def test_saved_generators_apply_at_a_size_off_their_multiple(runs):
    meta = ckpt.read_metadata(runs.resumed)
    for direction in meta["generators"]:
        model = translate.load(runs.resumed, direction, device="cpu", precision="fp32")
        multiple = int(model.generator.size_multiple)
        h, w = off_multiple_size(multiple)
        x = _input_for(model, h, w)
        y = model(x)
        assert y.shape == (1, model.spec.out_channels, h, w), (direction, multiple, tuple(y.shape))
        assert torch.isfinite(y).all() and y.min() >= -1 and y.max() <= 1
        if model.input_kind == "rgb":
            image = (np.random.default_rng(0).random((h, w, 3)) * 255).astype(np.uint8)
            out = model(image)
            assert out.dtype == np.uint8 and out.shape[:2] == (h, w), (direction, out.shape)
