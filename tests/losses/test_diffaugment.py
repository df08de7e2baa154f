"""DiffAugment: shapes kept, differentiable, one draw shared where asked, and the translators use it."""
import pytest
import torch

from translate.errors import InvalidSettingError
from translate.losses.diffaugment import DiffAugment, parse_policy

ALL = "color,translation,cutout"


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", ALL])
def test_keeps_shape_and_changes_the_images(policy):
    x = torch.rand(4, 6, 24, 20) * 2 - 1
    y = DiffAugment(policy)(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert not torch.allclose(x, y)


def test_is_differentiable_through_every_policy():
    x = (torch.rand(3, 3, 16, 16) * 2 - 1).requires_grad_()
    y = DiffAugment(ALL)(x)
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # Without colour's image means, pixels cut out or shifted out get no gradient; most pixels do.
    x.grad = None
    y = DiffAugment("translation,cutout")(x)
    (y * torch.randn_like(y)).sum().backward()
    assert 0.2 < (x.grad != 0).float().mean() < 1.0


def test_one_draw_transforms_real_and_fake_identically():
    aug = DiffAugment(ALL)
    real = torch.rand(2, 3, 16, 16)
    fake = real.clone()
    a, b = aug(real, fake)
    assert torch.equal(a, b)  # same draw: equal inputs stay equal
    c = aug(real)
    assert not torch.equal(a, c)  # a new call draws again


def test_translation_is_a_whole_pixel_shift_with_zeros():
    aug = DiffAugment("translation")
    x = torch.arange(64.0).view(1, 1, 8, 8) + 1
    params = {"shift_y": torch.tensor([1]), "shift_x": torch.tensor([-2])}
    y = aug.apply(x, params)
    assert torch.equal(y[0, 0, 1:, :6], x[0, 0, :7, 2:])
    assert y[0, 0, 0].abs().sum() == 0 and y[0, 0, :, 6:].abs().sum() == 0


def test_cutout_zeroes_a_half_side_square():
    aug = DiffAugment("cutout")
    x = torch.ones(1, 2, 16, 16)
    y = aug.apply(x, {"cut_y": torch.tensor([8]), "cut_x": torch.tensor([8])})
    assert (y == 0).float().sum() == 2 * 8 * 8 and torch.all(y[:, :, 8, 8] == 0)


def test_empty_policy_is_the_identity_and_bad_names_are_errors():
    x = torch.rand(1, 3, 8, 8)
    assert DiffAugment("")(x) is x and not DiffAugment("")
    assert parse_policy(" color , cutout ") == ("color", "cutout")
    with pytest.raises(InvalidSettingError, match="colour"):
        parse_policy("colour")


@pytest.mark.parametrize("name", ["pix2pix", "cyclegan"])
def test_translators_show_the_discriminator_augmented_images(name, monkeypatch):
    from translate.config import TrainConfig
    from translate.registry import TRANSLATORS

    cls = TRANSLATORS.get(name)
    opts = cls.Options(generator="resnet", generator_options={"n_blocks": 1}, ngf=4, ndf=4, n_layers_d=2,
                       diff_augment=ALL, norm="instance", dropout=False)
    translator = cls(opts, TrainConfig(size=16))
    seen = []
    for d in translator.discriminators.values():
        original = d.forward
        monkeypatch.setattr(d, "forward", lambda x, _f=original: (seen.append(x.detach()), _f(x))[1])
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    g = translator.generator_loss(batch)
    translator.discriminator_loss(batch, g.fakes)
    assert seen
    # Cutout leaves exact zeros in every image the discriminator sees; real images have none.
    assert all((x == 0).any() for x in seen)


@pytest.mark.parametrize("translator", ["discogan", "pix2pixhd", "faceswap"])
def test_translators_that_would_ignore_diff_augment_refuse_it(translator, tmp_path):
    from translate.config import ConfigError, resolve
    from translate.registry import TRANSLATORS
    from translate.training.loop import build_translator

    run = resolve(translator, TRANSLATORS.get(translator).Options(), cli_values={"data": str(tmp_path)},
                  set_pairs=["diff_augment=color"])
    with pytest.raises(ConfigError, match=f"'diff_augment' is not applied by {translator}"):
        build_translator(run)
