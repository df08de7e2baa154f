"""DiscoGAN: its networks, its losses and schedule, learning, and train + apply from the CLI."""
import numpy as np
import pytest
import torch

from translate.cli import main
from translate.config import resolve
from translate.data import read_image
from translate.nets import build_discriminator, build_generator
from translate.nets.discogan import EncoderDecoderGenerator
from translate.nets.generators import ResnetGenerator
from translate.registry import TRANSLATORS
from translate.training.loop import build_dataset
from translate.training.trainer import Trainer
from translate.translators.discogan import mean_feature_matching

TINY = ["ngf=4", "ndf=4"]


def _run(data, tmp_path, pairs=(), size=32):
    return resolve("discogan", TRANSLATORS.get("discogan").Options(), cli_values={
        "data": str(data), "checkpoints_dir": str(tmp_path), "size": size, "num_workers": 0,
        "precision": "fp32", "tensorboard": False}, set_pairs=[*TINY, *pairs])


def _translator(run):
    return TRANSLATORS.get("discogan")(run.model, run.train)


@pytest.mark.parametrize("size,downs", [(16, 2), (64, 4), (128, 5)])
def test_encoder_decoder_reaches_4x4_at_any_power_of_two(size, downs):
    g = build_generator("encoder_decoder", in_channels=1, out_channels=3, ngf=4, image_size=size)
    assert g.size_multiple == 2**downs
    assert g(torch.randn(2, 1, size, size)).shape == (2, 3, size, size)
    assert g.encoder(torch.randn(1, 1, size, size)).shape[-2:] == (4, 4)
    # Fully convolutional: a larger, non-square multiple of size_multiple works too.
    assert g(torch.randn(1, 1, 2 * size, size)).shape == (1, 3, 2 * size, size)


def test_encoder_decoder_has_the_reference_layout_at_64():
    g = build_generator("encoder_decoder", image_size=64)
    convs = [m.weight.shape for m in g.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [(64, 3, 4, 4), (128, 64, 4, 4), (256, 128, 4, 4), (512, 256, 4, 4)]
    up = [m.weight.shape for m in g.decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert up == [(512, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules()) == 6  # not after first/last
    out = g(torch.randn(2, 3, 64, 64) * 10)
    assert out.abs().max() <= 1.0  # tanh


def test_encoder_decoder_bottleneck_squeezes_to_1x1():
    g = build_generator("encoder_decoder", ngf=4, image_size=32, bottleneck=10)
    h = g.bottleneck[0](g.encoder(torch.randn(2, 3, 32, 32)))
    assert h.shape == (2, 10, 1, 1)
    assert g(torch.randn(2, 3, 32, 32)).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("size", [0, 4, 48, 100])
def test_encoder_decoder_rejects_sizes_that_are_not_powers_of_two(size):
    with pytest.raises(ValueError, match="power of two"):
        build_generator("encoder_decoder", image_size=size)


def test_discogan_discriminator_gives_one_logit_and_its_features():
    d = build_discriminator("discogan", in_channels=3, ndf=4, n_layers=4)
    x = torch.randn(3, 3, 64, 64)
    assert d(x).shape == (3, 1, 1, 1)
    (scale,) = d.forward_features(x)
    # Features of blocks 2..4 (the reference's relu2..relu4), then the prediction.
    assert [f.shape[1:] for f in scale] == [(8, 16, 16), (16, 8, 8), (32, 4, 4), (1, 1, 1)]
    assert torch.equal(scale[-1], d(x))
    with pytest.raises(ValueError, match="at least 64"):
        d.forward_features(torch.randn(1, 3, 32, 32))


def test_mean_feature_matching_compares_batch_means_not_samples():
    real = [torch.tensor([[1.0], [3.0]]), torch.ones(2, 4)]
    # Same batch mean, different samples: no loss (unlike a per-sample L1).
    assert mean_feature_matching(real[:1], [torch.tensor([[3.0], [1.0]])]) == 0
    fake = [torch.zeros(2, 1), torch.zeros(2, 4)]
    # (2 - 0)^2 = 4 for the first layer, (1 - 0)^2 = 1 for the second.
    assert mean_feature_matching(real, fake) == pytest.approx(5.0)


def test_schedule_and_the_weighting_of_reconstruction_against_gan(unpaired_data, tmp_path):
    run = _run(unpaired_data, tmp_path, ["gan_curriculum=3", "recon_rate_start=0.01", "recon_rate=0.5"])
    t = _translator(run)
    rates = []
    for step in (0, 2, 3, 50):
        t.before_step(step)
        rates.append(t.rate)
    assert rates == [0.01, 0.01, 0.5, 0.5]
    batch = {"A": torch.rand(2, 3, 32, 32) * 2 - 1, "B": torch.rand(2, 3, 32, 32) * 2 - 1}
    t.rate = 1.0  # only reconstruction counts
    out = t.generator_loss(batch)
    assert float(out.loss.detach()) == pytest.approx(float(out.logs["rec_A"] + out.logs["rec_B"]), rel=1e-5)
    t.rate = 0.0  # only the adversarial terms count
    out = t.generator_loss(batch)
    adversarial = sum(float(out.logs[k]) for k in ("G_AB", "fm_AB", "G_BA", "fm_BA"))
    assert float(out.loss.detach()) == pytest.approx(adversarial, rel=1e-5)


def test_preset_uses_weight_decay_and_any_zoo_generator(unpaired_data, tmp_path):
    t = _translator(_run(unpaired_data, tmp_path))
    assert isinstance(t.generators["G_AB"], EncoderDecoderGenerator)
    assert t.discriminators["D_A"](torch.randn(1, 3, 32, 32)).shape == (1, 1, 1, 1)  # depth follows --size
    trainer = Trainer(t, _run(unpaired_data, tmp_path).train, torch.device("cpu"), None, total_steps=10)
    for opt in (trainer.opt_g, trainer.opt_d):
        assert opt.param_groups[0]["weight_decay"] == 1e-5
        assert opt.param_groups[0]["betas"] == (0.5, 0.999)
    other = _translator(_run(unpaired_data, tmp_path, ["generator=resnet_6blocks"]))
    assert isinstance(other.generators["G_BA"], ResnetGenerator)
    assert len(other.generators["G_BA"].blocks) == 6


def test_a_few_steps_reduce_the_reconstruction_term(unpaired_data, tmp_path):
    # The preset's even GAN/reconstruction mix (no curriculum), a generator wide enough to learn fast.
    run = _run(unpaired_data, tmp_path, ["gan_curriculum=0", "lr=0.002", "recon_loss=mse", "ngf=16"])
    t = _translator(run)
    dataset = build_dataset(TRANSLATORS.get("discogan"), run)
    batch = torch.utils.data.default_collate([dataset[i] for i in range(4)])
    batch = {k: batch[k] for k in ("A", "B")}
    trainer = Trainer(t, run.train, torch.device("cpu"), None, total_steps=1000)

    def reconstruction():
        with torch.no_grad():
            logs = t.generator_loss(batch).logs
        return float(logs["rec_A"] + logs["rec_B"])

    before = reconstruction()
    for _ in range(40):
        trainer.step(batch)
    after = reconstruction()
    assert after < 0.8 * before, (before, after)


def test_train_then_apply_from_the_cli(unpaired_data, tmp_path):
    ck = tmp_path / "ck"
    assert main(["train", "discogan", "--data", str(unpaired_data), "--name", "d", "--checkpoints-dir", str(ck),
                 "--size", "32", "--steps", "2", "--num-workers", "0", *[a for p in TINY for a in ("--set", p)]]) == 0
    odd = tmp_path / "in" / "odd.png"
    odd.parent.mkdir()
    import cv2

    cv2.imwrite(str(odd), (np.random.default_rng(0).random((37, 53, 3)) * 255).astype(np.uint8))
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / f"out_{direction}"
        assert main(["apply", "--checkpoint", str(ck / "d"), "--input", str(odd.parent), "--output", str(out),
                     "--direction", direction]) == 0
        assert read_image(out / "odd.png").shape == (37, 53, 3)  # padded to 8, cropped back


def test_a_size_that_is_not_a_power_of_two_is_one_line(unpaired_data, tmp_path, capsys):
    assert main(["train", "discogan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path),
                 "--size", "48", "--steps", "1", "--num-workers", "0", "--set", "ngf=4"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--size 48" in err[0] and "power of two" in err[0]
