"""CoGAN: coupled networks share real parameters, inversion translates, and the CLI trains, applies and samples."""
import json

import cv2
import numpy as np
import pytest
import torch

from translate.checkpoint import load_generator
from translate.cli import main
from translate.config import resolve
from translate.data import read_image
from translate.nets import build_generator
from translate.nets.cogan import CoupledDiscriminator, CoupledGenerator
from translate.registry import TRANSLATORS

TINY = ["--set", "ngf=4", "--set", "ndf=4", "--set", "nef=4", "--set", "latent_dim=8"]


def _shared_and_private(a: torch.nn.Module, b: torch.nn.Module):
    pa, pb = list(a.parameters()), list(b.parameters())
    shared = [p for p in pa if any(p is q for q in pb)]
    private_a = [p for p in pa if not any(p is q for q in pb)]
    return shared, private_a


@pytest.mark.parametrize("size", [32, 64, 128])
def test_coupled_shapes_at_every_supported_size(size):
    g = CoupledGenerator(latent_dim=8, size=size, ngf=4, channels_a=1, channels_b=3)
    a, b = g(torch.randn(2, 8))
    assert a.shape == (2, 1, size, size) and b.shape == (2, 3, size, size)
    g.eval()
    assert torch.equal(g.generate(torch.zeros(1, 8), "B"), g(torch.zeros(1, 8))[1])
    d = CoupledDiscriminator(size=size, ndf=4, channels_a=1, channels_b=3)
    assert d(a, "A").shape == (2, 1, 1, 1) and d(b, "B").shape == (2, 1, 1, 1)


def test_generator_branches_share_their_first_layers_as_the_same_objects():
    g = CoupledGenerator(latent_dim=8, size=32, ngf=4, private_layers=2)
    branch_a, branch_b = g.branch("A"), g.branch("B")
    shared, private_a = _shared_and_private(branch_a, branch_b)
    assert shared and private_a
    assert all(any(p is s for s in shared) for p in g.shared.parameters())
    # The shared ones are the FIRST layers of each branch, the private ones its last (2 layers).
    n_shared = len(list(g.shared.parameters()))
    assert list(branch_a.parameters())[:n_shared] == shared
    assert not _shared_and_private(g.private["A"], g.private["B"])[0]
    # Sharing is not duplication: the state dict holds each shared tensor once.
    keys = list(g.state_dict())
    assert sum(k.startswith("shared.") for k in keys) == len(list(g.shared.state_dict()))


def test_discriminator_branches_share_their_last_layers():
    d = CoupledDiscriminator(size=32, ndf=4, channels_a=1, channels_b=3, private_layers=1)
    shared, private_a = _shared_and_private(d.branch("A"), d.branch("B"))
    assert shared == list(d.shared.parameters()) and private_a == list(d.private["A"].parameters())
    assert private_a[0].shape[1] == 1 and list(d.private["B"].parameters())[0].shape[1] == 3


def test_a_gradient_step_moves_the_shared_weights_by_both_branches_at_once():
    torch.manual_seed(0)
    g = CoupledGenerator(latent_dim=8, size=32, ngf=4)
    z = torch.randn(4, 8)

    def grads(loss_fn):
        g.zero_grad()
        loss_fn().backward()
        return [p.grad.clone() for p in g.shared.parameters()]

    grad_a = grads(lambda: g.branch("A")(z).square().mean())
    grad_b = grads(lambda: g.branch("B")(z).mean())
    grad_both = grads(lambda: g.branch("A")(z).square().mean() + g.branch("B")(z).mean())
    # One tensor, two users: its gradient is the sum of what each branch asks for.
    for ga, gb, gab in zip(grad_a, grad_b, grad_both):
        torch.testing.assert_close(gab, ga + gb)

    before = {n: p.detach().clone() for n, p in g.named_parameters()}
    torch.optim.SGD(g.parameters(), lr=0.1).step()
    changed = {n for n, p in g.named_parameters() if not torch.equal(p, before[n])}
    assert any(n.startswith("shared.") for n in changed)
    # Each branch sees the very same updated values in its shared layers.
    for pa, pb in zip(g.branch("A")[1].parameters(), g.branch("B")[1].parameters()):
        assert pa is pb


@pytest.mark.parametrize("private", [0, 4])
def test_private_layers_must_leave_something_shared_and_something_private(private):
    with pytest.raises(ValueError, match="private_layers"):
        CoupledGenerator(latent_dim=8, size=32, ngf=4, private_layers=private)


def _inverter(**kwargs):
    torch.manual_seed(0)
    net = build_generator("cogan_inverter", in_channels=3, out_channels=1, latent_dim=8, size=32, ngf=8,
                          encoder=False, **kwargs)
    net.train()
    with torch.no_grad():  # give batch norm running statistics, as training would
        for _ in range(20):
            net.generator(torch.randn(16, 8))
    return net.eval()


def test_latent_inversion_reduces_the_reconstruction_error_of_an_a_image():
    net = _inverter(iterations=60, restarts=3)
    with torch.no_grad():
        x = net.generator.generate(torch.randn(2, 8), "A")  # an A image the model can draw
    net.iterations = 0
    _, start_error = net.invert(x)
    net.iterations = 60
    _, error = net.invert(x)
    assert (error < 0.5 * start_error).all(), (start_error, error)


def test_inverter_translates_any_size_under_inference_mode_and_autocast():
    net = _inverter(iterations=5, restarts=2)
    x = torch.rand(2, 3, 40, 24) * 2 - 1
    with torch.inference_mode():  # how apply calls it
        y = net(x)
    assert y.shape == (2, 1, 40, 24)  # a B image (1 channel here) of the input's size
    with torch.inference_mode():
        assert torch.equal(net(x), y)  # seeded restarts: repeatable
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert net(x).shape == (2, 1, 40, 24)


def test_generator_loss_trains_the_encoders_without_pulling_on_the_generators(unpaired_data, tmp_path):
    run = resolve("cogan", TRANSLATORS.get("cogan").Options(), cli_values={
        "data": str(unpaired_data), "size": 32}, set_pairs=[p for p in TINY if p != "--set"] + ["lambda_gan=0"])
    t = TRANSLATORS.get("cogan")(run.model, run.train)
    batch = {"A": torch.rand(3, 3, 32, 32), "B": torch.rand(3, 3, 32, 32)}
    out = t.generator_loss(batch)
    out.loss.backward()
    assert set(out.logs) == {"G_A", "G_B", "E_A", "E_B"}
    assert all(p.grad is None or not p.grad.any() for p in t.generators["G"].parameters())
    assert all(p.grad is not None and p.grad.any() for p in t.generators["E_A"].parameters())
    assert out.fakes["fake_A"].shape == (3, 3, 32, 32)


def test_train_apply_and_sample_from_the_cli(unpaired_data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main(["train", "cogan", "--data", str(unpaired_data), "--name", "c", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "2", "--num-workers", "0", "--set", "invert_iterations=3",
                 "--set", "invert_restarts=2", *TINY]) == 0
    photo = tmp_path / "in" / "odd.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), (np.random.default_rng(0).random((37, 53, 3)) * 255).astype(np.uint8))
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / f"out_{direction}" / "odd.png"
        assert main(["apply", "--checkpoint", str(ck / "c"), "--input", str(photo), "--output", str(out),
                     "--direction", direction]) == 0
        assert read_image(out).shape == (37, 53, 3)

    grid = tmp_path / "grid.png"
    assert main(["sample", "--checkpoint", str(ck / "c"), "--n", "5", "--output", str(grid)]) == 0
    # 5 pairs -> 3 columns x 2 rows of (32 + 32)-wide cells with 2-pixel gaps.
    assert read_image(grid).shape == (2 * 32 + 2, 3 * 66 - 2, 3)

    # Inversion options live in the checkpoint's translate.json; editing them changes apply.
    meta_path = ck / "c" / "translate.json"
    meta = json.loads(meta_path.read_text())
    assert meta["generators"]["AtoB"]["kwargs"]["iterations"] == 3
    meta["generators"]["AtoB"]["kwargs"]["restarts"] = 7
    meta_path.write_text(json.dumps(meta))
    net, _ = load_generator(ck / "c", "AtoB")
    assert (net.iterations, net.restarts) == (3, 7)


def test_sample_refuses_a_checkpoint_that_cannot_draw_from_noise(unpaired_data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main(["train", "discogan", "--data", str(unpaired_data), "--name", "d", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "1", "--num-workers", "0", "--set", "ngf=4", "--set", "ndf=4"]) == 0
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(ck / "d"), "--output", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a CoGAN checkpoint" in err[0]
    assert not (tmp_path / "g.png").exists()


def test_a_size_that_is_not_a_power_of_two_is_one_line(unpaired_data, tmp_path, capsys):
    assert main(["train", "cogan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path),
                 "--size", "48", "--steps", "1", "--num-workers", "0", *TINY]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--size 48" in err[0] and "power of two" in err[0]
