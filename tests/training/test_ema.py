"""The EMA of the generator weights: follows the live weights, is saved, resumed and exported."""
import torch
from safetensors.torch import load_file
from torch import nn

from translate.checkpoint import load_generator, load_training_state
from translate.training.ema import GeneratorEMA
from translate.training.loop import train

from conftest import TINY_PIX2PIX
from test_train import _run


def _live_net():
    return nn.ModuleDict({"G": nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))})


def test_ema_differs_from_live_and_follows_it():
    live = _live_net()
    ema = GeneratorEMA(live, decay=0.9)
    start = live["G"][0].weight.detach().clone()
    with torch.no_grad():
        live["G"][0].weight.add_(1.0)
        live["G"][1].running_mean.fill_(3.0)
    ema.update(step=1000)  # past the warm-up: the decay is 0.9
    shadow = ema.shadow["G"][0].weight
    assert not torch.equal(shadow, live["G"][0].weight)
    torch.testing.assert_close(shadow, start + 0.1)  # 0.9 * start + 0.1 * (start + 1)
    assert torch.equal(ema.shadow["G"][1].running_mean, live["G"][1].running_mean)  # buffers are copied
    for _ in range(200):
        ema.update(step=1000)
    torch.testing.assert_close(shadow, live["G"][0].weight)  # converges to constant live weights
    assert not shadow.requires_grad


def test_decay_zero_copies_and_warm_up_starts_near_the_live_weights():
    live = _live_net()
    ema = GeneratorEMA(live, decay=0.0)
    with torch.no_grad():
        live["G"][0].weight.mul_(-2)
    ema.update(step=1)
    assert torch.equal(ema.shadow["G"][0].weight, live["G"][0].weight)
    assert GeneratorEMA(live, decay=0.999).current_decay(0) == 0.1  # (1 + 0) / (10 + 0)
    assert GeneratorEMA(live, decay=0.999).current_decay(10**6) == 0.999


def test_swap_in_replaces_exported_generators_by_identity():
    live = _live_net()
    ema = GeneratorEMA(live, decay=0.5)
    out = ema.swap_in({"AtoB": (live["G"], "spec")})
    assert out["AtoB"][0] is ema.shadow["G"] and out["AtoB"][1] == "spec"


def test_run_saves_ema_weights_for_apply_and_resumes_them_exactly(paired_data, tmp_path):
    args = ["--set", "steps=6", "--set", "ema=true", "--set", "ema_decay=0.9", "--set", "lr=0.01"]
    folder = train(_run("pix2pix", paired_data, tmp_path, "straight", args, TINY_PIX2PIX))
    state = load_training_state(folder)
    exported = load_file(str(folder / "generator_AtoB.safetensors"))
    live = {k[len("G."):]: v for k, v in state["generators"].items() if k.startswith("G.")}
    ema = {k[len("G."):]: v for k, v in state["ema"].items() if k.startswith("G.")}
    weights = [k for k in exported if k.endswith("weight")]
    assert all(torch.equal(exported[k], ema[k]) for k in exported)  # the saved generator is the EMA
    assert any(not torch.equal(exported[k], live[k]) for k in weights)  # ...which is not the live one
    net, _ = load_generator(folder)  # what apply and eval load
    assert all(torch.equal(net.state_dict()[k], ema[k]) for k in ema)

    killed = _run("pix2pix", paired_data, tmp_path, "killed", args, TINY_PIX2PIX)
    train(killed, max_steps_this_call=3)
    train(killed, resume=True)
    resumed = load_training_state(tmp_path / "killed")["ema"]
    assert all(torch.equal(resumed[k], state["ema"][k]) for k in resumed)


def test_ema_off_exports_the_live_weights(paired_data, tmp_path):
    folder = train(_run("pix2pix", paired_data, tmp_path, "off", ["--set", "steps=2", "--set", "ema=false"],
                        TINY_PIX2PIX))
    state = load_training_state(folder)
    assert "ema" not in state
    exported = load_file(str(folder / "generator_AtoB.safetensors"))
    assert all(torch.equal(v, state["generators"]["G." + k]) for k, v in exported.items())
