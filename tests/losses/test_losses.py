"""Behaviour of translate.losses: known values, scale handling, gradients, dtypes, weights."""
import math
import os

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import translate.losses as L
from translate.losses import (
    LOSSES,
    AdversarialLoss,
    FeatureMatchingLoss,
    MaskedL1Loss,
    PerceptualLoss,
    SSIMLoss,
    build_loss,
    gradient_penalty,
)


def images(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * 2 - 1


# --- adversarial ------------------------------------------------------------------------


def test_lsgan_constant_predictions_by_hand():
    loss = AdversarialLoss("lsgan")
    real, fake = torch.full((2, 1, 4, 4), 0.5), torch.full((2, 1, 4, 4), 0.25)
    # G: (0.25 - 1)^2 = 0.5625; D: 0.5 * ((0.5 - 1)^2 + 0.25^2) = 0.5 * (0.25 + 0.0625)
    assert loss.generator_loss(fake).item() == pytest.approx(0.5625)
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(0.15625)
    assert not loss.needs_gradient_penalty


def test_vanilla_matches_bce_formula():
    loss = AdversarialLoss("vanilla")
    real, fake = torch.randn(3, 1, 5, 5), torch.randn(3, 1, 5, 5)
    log_sigmoid = F.logsigmoid
    g_expected = -log_sigmoid(fake).mean()
    d_expected = 0.5 * (-log_sigmoid(real).mean() - log_sigmoid(-fake).mean())
    assert torch.allclose(loss.generator_loss(fake), g_expected, atol=1e-6)
    assert torch.allclose(loss.discriminator_loss(real, fake), d_expected, atol=1e-6)
    # a logit of 0 is a 50/50 guess: log 2 per term
    zero = torch.zeros(2, 1)
    assert loss.discriminator_loss(zero, zero).item() == pytest.approx(math.log(2))


def test_hinge_values():
    loss = AdversarialLoss("hinge")
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - r) = 0, 0.5, 2   -> mean 5/6
    fake = torch.tensor([-2.0, 0.0, 1.0])  # relu(1 + f) = 0, 1, 2     -> mean 1
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(5 / 6 + 1)
    assert loss.generator_loss(fake).item() == pytest.approx(-fake.mean().item())


def test_wgangp_signs():
    loss = AdversarialLoss("wgangp")
    assert loss.needs_gradient_penalty
    real, fake = torch.full((4, 1), 3.0), torch.full((4, 1), -1.0)
    # a critic that scores real above fake has a negative loss; G wants D(fake) high
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(-4.0)
    assert loss.generator_loss(fake).item() == pytest.approx(1.0)


def test_unknown_mode_names_valid_modes():
    with pytest.raises(ValueError) as err:
        AdversarialLoss("wgan")
    for mode in ("vanilla", "lsgan", "wgangp", "hinge"):
        assert mode in str(err.value)


@pytest.mark.parametrize("mode", list(L.ADVERSARIAL_MODES))
def test_scales_are_summed(mode):
    loss = AdversarialLoss(mode)
    real = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4)]
    fake = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4)]
    g = loss.generator_loss(fake[0]) + loss.generator_loss(fake[1])
    d = loss.discriminator_loss(real[0], fake[0]) + loss.discriminator_loss(real[1], fake[1])
    assert torch.allclose(loss.generator_loss(fake), g)
    assert torch.allclose(loss.discriminator_loss(real, fake), d)
    # a scale given as [features..., prediction] is scored on its prediction only
    with_features = [[torch.randn(2, 16, 8, 8), fake[0]], fake[1]]
    assert torch.allclose(loss.generator_loss(with_features), g)


def test_mismatched_scales_rejected():
    with pytest.raises(ValueError):
        AdversarialLoss().discriminator_loss([torch.zeros(1)], [torch.zeros(1), torch.zeros(1)])


@pytest.mark.parametrize("mode", list(L.ADVERSARIAL_MODES))
def test_adversarial_gradient_flows(mode):
    fake = torch.randn(2, 1, 4, 4, requires_grad=True)
    AdversarialLoss(mode).generator_loss(fake).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def _unit_linear_critic(shape, seed=0):
    """D(x) = <w, x> with ||w|| = 1, so ||grad_x D|| = 1 everywhere."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(math.prod(shape), generator=g)
    linear = nn.Linear(w.numel(), 1, bias=False)
    with torch.no_grad():
        linear.weight.copy_(w / w.norm())
    return nn.Sequential(nn.Flatten(), linear)


def test_gradient_penalty_zero_for_unit_gradient_critic():
    critic = _unit_linear_critic((3, 8, 8))
    real, fake = images(4, 3, 8, 8, seed=1), images(4, 3, 8, 8, seed=2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-6)
    # two scales of half the critic each sum back to a unit gradient
    two_scales = lambda x: [0.5 * critic(x), 0.5 * critic(x)]  # noqa: E731
    assert gradient_penalty(two_scales, real, fake).item() == pytest.approx(0.0, abs=1e-6)
    # scaling the critic by 3 gives ||grad|| = 3: penalty 10 * (3 - 1)^2
    tripled = lambda x: 3 * critic(x)  # noqa: E731
    assert gradient_penalty(tripled, real, fake).item() == pytest.approx(40.0, rel=1e-4)


def test_gradient_penalty_positive_and_trains_critic():
    critic = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 3))
    real, fake = images(2, 3, 16, 16, seed=1), images(2, 3, 16, 16, seed=2)
    fake.requires_grad_(True)
    penalty = gradient_penalty(critic, real, fake)
    assert penalty.item() > 0 and penalty.dtype == torch.float32
    penalty.backward()  # create_graph=True: the penalty reaches the critic's weights
    assert critic[0].weight.grad is not None and critic[0].weight.grad.abs().sum() > 0
    assert fake.grad is None  # inputs are detached: the penalty trains the critic only


# --- reconstruction / ssim ---------------------------------------------------------------


def test_l1_and_mse_values():
    x, y = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), -0.5)
    assert build_loss("l1")(x, y).item() == pytest.approx(0.5)
    assert build_loss("mse")(x, y).item() == pytest.approx(0.25)


def test_masked_l1_ignores_background():
    pred, target = images(2, 3, 16, 16, seed=1), images(2, 3, 16, 16, seed=2)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    loss = MaskedL1Loss(background_weight=0.0)
    changed = target.clone()
    changed[..., :4, :] = 7.0  # differs only outside the mask
    assert torch.allclose(loss(pred, target, mask), loss(pred, changed, mask))
    # the value is the L1 mean over the masked pixels and channels
    inside = (pred - target).abs()[..., 4:12, 4:12].mean()
    assert torch.allclose(loss(pred, target, mask), inside, atol=1e-6)
    # a background weight of 1 is the plain L1; in between sees the background
    assert torch.allclose(MaskedL1Loss(1.0)(pred, target, mask), (pred - target).abs().mean())
    assert MaskedL1Loss(0.1)(pred, changed, mask) > MaskedL1Loss(0.1)(pred, target, mask)
    assert MaskedL1Loss()(pred, target, torch.zeros_like(mask)).item() == 0.0


def test_masked_l1_rejects_multichannel_mask():
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError):
        MaskedL1Loss()(x, x, torch.ones(1, 3, 8, 8))


def test_ssim_identity_is_zero_and_noise_is_larger():
    x = images(2, 3, 32, 32, seed=1)
    loss = SSIMLoss()
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-4)
    slightly = (x + 0.05 * torch.randn_like(x)).clamp(-1, 1)
    assert loss(x, torch.rand_like(x) * 2 - 1) > loss(x, slightly) > 1e-3


def test_ssim_is_one_minus_ssim_not_kornias_half():
    import kornia

    x, y = images(1, 1, 32, 32, seed=1), images(1, 1, 32, 32, seed=2)
    kornia_half = kornia.losses.ssim_loss((x + 1) / 2, (y + 1) / 2, window_size=11)
    assert SSIMLoss()(x, y).item() == pytest.approx(2 * kornia_half.item(), rel=1e-5)


# --- perceptual ---------------------------------------------------------------------------


@pytest.mark.parametrize("network", ["vgg16", "vgg19"])
def test_vgg_stack_and_table_match_torchvision(network):
    table = L.VGG_LAYERS[network]
    assert table["relu5_1"] == {"vgg16": 25, "vgg19": 29}[network]
    # torchvision's own builder of the feature stack, without the huge classifier
    reference = torchvision.models.vgg.make_layers(
        torchvision.models.vgg.cfgs[{"vgg16": "D", "vgg19": "E"}[network]]
    )
    assert len(table) == len(reference)
    kinds = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
    for name, index in table.items():
        assert isinstance(reference[index], kinds[name[:4]]), name
    # the loss's own stack takes torchvision weights key for key, shape for shape
    ours = PerceptualLoss(network=network, layers=["pool5"], pretrained=False).features
    theirs = {k: v.shape for k, v in reference.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == theirs


def test_weight_file_names_are_torchvisions():
    for network, enum in (("vgg16", "VGG16_Weights"), ("vgg19", "VGG19_Weights")):
        url = getattr(torchvision.models, enum).IMAGENET1K_V1.url
        assert os.path.basename(url) == L.VGG_WEIGHT_FILES[network]


@pytest.fixture(scope="module")
def small_perceptual():
    # two shallow layers keep the random VGG cheap on CPU
    return PerceptualLoss(layers=["relu1_1", "relu2_1"], layer_weights=[0.5, 1.0], pretrained=False)


def test_perceptual_zero_for_identical_positive_otherwise(small_perceptual):
    x, y = images(1, 3, 32, 32, seed=1), images(1, 3, 32, 32, seed=2)
    assert small_perceptual(x, x).item() == 0.0
    assert small_perceptual(x, y).item() > 0.0
    gray = images(1, 1, 32, 32, seed=3)
    assert torch.allclose(small_perceptual(gray, x), small_perceptual(gray.repeat(1, 3, 1, 1), x))


def test_perceptual_gradient_reaches_input_not_vgg(small_perceptual):
    x = images(1, 3, 32, 32, seed=1).requires_grad_(True)
    small_perceptual(x, images(1, 3, 32, 32, seed=2)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in small_perceptual.parameters())


def test_perceptual_stays_frozen_in_train_mode(small_perceptual):
    small_perceptual.train()
    assert small_perceptual.training and not small_perceptual.features.training
    assert len(small_perceptual.features) == L.VGG_LAYERS["vgg19"]["relu2_1"] + 1


def test_perceptual_default_layers_and_weights():
    loss = PerceptualLoss(pretrained=False)
    assert loss.layers == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert loss.layer_weights == [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]
    assert len(loss.features) == 30  # cut after relu5_1
    assert not any(getattr(m, "inplace", False) for m in loss.features)


def test_perceptual_rejects_unknown_layer():
    with pytest.raises(ValueError, match="relu9_9"):
        PerceptualLoss(layers=["relu9_9"], pretrained=False)


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """torch.hub.get_dir() -> an empty folder; both are restored after the test."""
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub"


def test_missing_weights_never_download(empty_hub):
    expected = os.path.join(str(empty_hub), "checkpoints", "vgg19-dcbb9e9d.pth")
    with pytest.raises(FileNotFoundError) as err:
        PerceptualLoss()
    message = str(err.value)
    assert "vgg19-dcbb9e9d.pth" in message and expected in message
    assert "vgg_weights" in message and "lambda_perceptual=0" in message and "\n" not in message
    assert not os.path.exists(expected)
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        PerceptualLoss(weights_path=str(empty_hub / "nowhere.pth"))


def _shallow_vgg_state(seed):
    # Just the layers relu1_1 and relu2_1 need, keyed like torchvision's file:
    # a tiny stand-in for the 550 MB download.
    torch.manual_seed(seed)
    features = PerceptualLoss(layers=["relu2_1"], pretrained=False).features
    return {f"features.{k}": v.clone() for k, v in features.state_dict().items()}


def test_weights_load_from_path_and_hub_cache(tmp_path, empty_hub):
    state = _shallow_vgg_state(seed=3)
    path = tmp_path / "my_vgg.pth"
    # like a full torchvision file: deeper layers and the classifier are ignored
    torch.save({**state, "features.28.bias": torch.zeros(512), "classifier.6.bias": torch.zeros(9)}, path)
    layers = ["relu1_1", "relu2_1"]
    from_path = PerceptualLoss(layers=layers, weights_path=str(path))
    for key, value in state.items():
        assert torch.equal(from_path.features.state_dict()[key[len("features."):]], value)

    cached = empty_hub / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    from_cache = PerceptualLoss(layers=layers)
    x, y = images(1, 3, 32, 32, seed=1), images(1, 3, 32, 32, seed=2)
    assert torch.equal(from_path(x, y), from_cache(x, y))

    # a file lacking a needed layer is an error, not silently random weights
    with pytest.raises(RuntimeError):
        PerceptualLoss(layers=["relu3_1"], weights_path=str(path))


# --- feature matching ----------------------------------------------------------------------


def test_feature_matching_zero_for_identical_and_pix2pixhd_weighting():
    real = [[torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4), torch.randn(1, 1, 2, 2)]
            for _ in range(2)]
    loss = FeatureMatchingLoss()
    assert loss(real, real).item() == 0.0
    # shift every feature by 1 -> every L1 is 1: 2 scales * 2 layers * (1/2) * (4/2) = 4
    fake = [[f + 1 for f in scale[:-1]] + [scale[-1] + 100] for scale in real]
    assert loss(real, fake).item() == pytest.approx(4.0)  # the prediction is excluded


def test_feature_matching_detaches_real():
    real = [[torch.randn(1, 4, 8, 8, requires_grad=True), torch.randn(1, 1, 4, 4)]]
    fake = [[torch.randn(1, 4, 8, 8, requires_grad=True), torch.randn(1, 1, 4, 4)]]
    FeatureMatchingLoss()(real, fake).backward()
    assert fake[0][0].grad is not None and real[0][0].grad is None


# --- registry and dtypes ---------------------------------------------------------------------


def test_every_registered_name_builds_and_has_a_summary():
    expected = {"adversarial", "l1", "mse", "masked_l1", "ssim", "perceptual", "feature_matching"}
    assert expected <= set(LOSSES.names())
    for name in LOSSES.names():
        kwargs = {"pretrained": False} if name == "perceptual" else {}
        assert isinstance(build_loss(name, **kwargs), nn.Module)
    assert all(summary for _, summary in LOSSES.summaries())


def test_losses_return_float32_under_bf16_autocast(small_perceptual):
    x, y = images(1, 3, 32, 32, seed=1), images(1, 3, 32, 32, seed=2)
    mask = (images(1, 1, 32, 32, seed=3) > 0).float()
    critic = nn.Conv2d(3, 1, 4, stride=2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        xb, yb = x.bfloat16(), y.bfloat16()
        pred = critic(x)
        assert pred.dtype == torch.bfloat16  # the autocast is really on
        results = [
            AdversarialLoss("vanilla").generator_loss([pred, pred]),
            AdversarialLoss("lsgan").discriminator_loss(pred, pred),
            build_loss("l1")(xb, yb),
            build_loss("mse")(xb, yb),
            MaskedL1Loss()(xb, yb, mask),
            SSIMLoss()(xb, yb),
            small_perceptual(xb, yb),
            FeatureMatchingLoss()([[xb, pred]], [[yb, pred]]),
            gradient_penalty(critic, x, y),
        ]
    for result in results:
        assert result.dtype == torch.float32 and torch.isfinite(result)
    # SSIM in float32 under autocast equals SSIM outside it
    assert results[5].item() == pytest.approx(SSIMLoss()(xb.float(), yb.float()).item(), abs=1e-5)


def test_judge_adds_the_gradient_penalty_only_for_wgangp():
    import torch
    from torch import nn

    from translate.losses import AdversarialLoss

    d = nn.Conv2d(3, 1, 3, padding=1)
    real, fake = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    loss, gp = AdversarialLoss("lsgan").judge(d, real, fake)
    assert gp is None and torch.allclose(loss, AdversarialLoss("lsgan").discriminator_loss(d(real), d(fake)))
    loss, gp = AdversarialLoss("wgangp").judge(d, real, fake, gp_weight=10.0)
    plain = AdversarialLoss("wgangp").discriminator_loss(d(real), d(fake))
    assert gp is not None and gp > 0 and torch.allclose(loss, plain + gp)
