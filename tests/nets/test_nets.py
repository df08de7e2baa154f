"""Behaviour of translate.nets: shapes, parameter layout, receptive fields, init, errors."""
import math

import pytest
import torch
from torch import nn

from translate.nets import (
    build_discriminator,
    build_generator,
    init_weights,
    norm_layer,
    padding_layer,
    patchgan_receptive_field,
    set_requires_grad,
)
from translate.nets.layers import conv_bias
from translate.registry import DISCRIMINATORS, GENERATORS

torch.set_num_threads(1)

# Small but structurally complete versions of every registered generator.
SMALL_GENERATORS = {
    "unet": dict(num_downs=3, ngf=4),
    "unet_128": dict(ngf=2),
    "unet_256": dict(ngf=2),
    "resnet": dict(n_blocks=2, ngf=4),
    "resnet_6blocks": dict(ngf=4),
    "resnet_9blocks": dict(ngf=4),
}
CHANNELS = [(1, 1), (3, 3), (4, 1), (1, 3)]


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_registry_lists_presets_with_summaries():
    assert {"unet", "unet_128", "unet_256", "resnet", "resnet_6blocks", "resnet_9blocks"} <= set(GENERATORS.names())
    assert {"patchgan", "pixel", "multiscale"} <= set(DISCRIMINATORS.names())
    for _, line in GENERATORS.summaries() + DISCRIMINATORS.summaries():
        assert len(line) > 20
    # Every generator of the core zoo module is shape-tested here; other modules test their own.
    import translate.nets.generators as core

    core_names = {n for n in GENERATORS.names() if GENERATORS.get(n).__module__ == core.__name__}
    assert set(SMALL_GENERATORS) == core_names, "add new generators to SMALL_GENERATORS"


# ----------------------------------------------------------------------------- generators


@pytest.mark.parametrize("name", sorted(SMALL_GENERATORS))
@pytest.mark.parametrize("in_ch,out_ch", CHANNELS)
def test_generator_shapes_and_range(name, in_ch, out_ch):
    net = build_generator(name, in_channels=in_ch, out_channels=out_ch, **SMALL_GENERATORS[name])
    m = net.size_multiple
    assert isinstance(m, int)
    sizes = [s for s in (32, 48, 64) if s % m == 0] or [m]
    for h, w in [(sizes[0], sizes[-1]), (sizes[-1], sizes[0])]:
        y = net(torch.randn(2, in_ch, h, w) * 3)
        assert y.shape == (2, out_ch, h, w)
        assert y.abs().max() <= 1.0


@pytest.mark.parametrize("num_downs", [1, 2, 5])
def test_unet_any_depth(num_downs):
    net = build_generator("unet", num_downs=num_downs, ngf=2, norm="instance")
    assert net.size_multiple == 2**num_downs
    size = max(32, 2**num_downs)
    assert net(torch.randn(1, 3, size, size)).shape == (1, 3, size, size)


@pytest.mark.parametrize("n_downsampling", [0, 1, 3])
def test_resnet_downsampling_sets_size_multiple(n_downsampling):
    net = build_generator("resnet", n_blocks=1, n_downsampling=n_downsampling, ngf=2, padding="zero")
    assert net.size_multiple == 2**n_downsampling
    assert net(torch.randn(1, 3, 40, 24)).shape == (1, 3, 40, 24)


def test_presets_fix_their_depth():
    assert build_generator("unet_128", ngf=2).size_multiple == 128
    assert build_generator("unet_256", ngf=2).size_multiple == 256
    assert len(build_generator("resnet_6blocks", ngf=2).blocks) == 6
    assert len(build_generator("resnet_9blocks", ngf=2).blocks) == 9


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zero"])
def test_generators_accept_every_padding(padding):
    x = torch.randn(1, 3, 32, 32)
    assert build_generator("resnet", n_blocks=1, ngf=2, padding=padding)(x).shape == x.shape
    assert build_generator("unet", num_downs=3, ngf=2, padding=padding)(x).shape == x.shape


def test_published_parameter_counts():
    # Meta tensors: counts and shapes without allocating 66 M floats.
    with torch.device("meta"):
        assert n_params(build_generator("resnet_9blocks", norm="instance")) == 11_378_179
        # The innermost U-Net level has no down-norm, so it is 54,413,955, not 54,414,979.
        assert n_params(build_generator("unet_256", norm="batch")) == 54_413_955
        assert n_params(build_discriminator("patchgan", in_channels=6)) == 2_768_705


def _bn(c):
    return [(c,), (c,), (c,), (c,), ()]  # weight, bias, running_mean, running_var, num_batches_tracked


def _conv(cin, cout, k, bias, transposed=False):
    w = (cin, cout, k, k) if transposed else (cout, cin, k, k)
    return [w] + ([(cout,)] if bias else [])


def _reference_unet_shapes(in_ch, out_ch, ngf, num_downs):
    """State-dict shapes of the reference UnetGenerator (batch norm), written from its recipe:
    outermost (out, ngf), then (ngf, 2ngf), (2ngf, 4ngf), (4ngf, 8ngf), num_downs-5 middle
    (8ngf, 8ngf) levels and an innermost (8ngf, 8ngf) level."""
    levels = [(out_ch, ngf, in_ch, "outer"), (ngf, 2 * ngf, ngf, "mid"), (2 * ngf, 4 * ngf, 2 * ngf, "mid"),
              (4 * ngf, 8 * ngf, 4 * ngf, "mid")]
    levels += [(8 * ngf, 8 * ngf, 8 * ngf, "mid")] * (num_downs - 5) + [(8 * ngf, 8 * ngf, 8 * ngf, "inner")]

    def entries(i):
        outer, inner, inp, kind = levels[i]
        down = _conv(inp, inner, 4, False) + (_bn(inner) if kind == "mid" else [])
        sub = entries(i + 1) if kind != "inner" else []
        up_in = inner if kind == "inner" else 2 * inner
        up = _conv(up_in, outer, 4, kind == "outer", transposed=True) + ([] if kind == "outer" else _bn(outer))
        return down + sub + up

    return entries(0)


def _reference_resnet_shapes(in_ch, out_ch, ngf, n_blocks):
    """State-dict shapes of the reference ResnetGenerator with instance norm (biases, no norm state)."""
    shapes = _conv(in_ch, ngf, 7, True) + _conv(ngf, 2 * ngf, 3, True) + _conv(2 * ngf, 4 * ngf, 3, True)
    shapes += (_conv(4 * ngf, 4 * ngf, 3, True) * 2) * n_blocks
    shapes += _conv(4 * ngf, 2 * ngf, 3, True, True) + _conv(2 * ngf, ngf, 3, True, True)
    return shapes + _conv(ngf, out_ch, 7, True)


def test_state_dict_lines_up_with_reference_networks():
    # Importing published checkpoints maps keys by position: order and shapes must match.
    with torch.device("meta"):
        unet = build_generator("unet_256", in_channels=3, out_channels=2, norm="batch", dropout=True)
        resnet = build_generator("resnet_9blocks", in_channels=1, out_channels=3, norm="instance")
    assert [tuple(v.shape) for v in unet.state_dict().values()] == _reference_unet_shapes(3, 2, 64, 8)
    assert [tuple(v.shape) for v in resnet.state_dict().values()] == _reference_resnet_shapes(1, 3, 64, 9)


def test_bias_only_without_batch_norm():
    assert not conv_bias("batch") and conv_bias("instance") and conv_bias("none")
    g = build_generator("resnet", n_blocks=1, ngf=2, norm="batch")
    assert g.stem[1].bias is None and g.head[1].bias is not None  # the output conv keeps its bias


def _dropouts(net):
    return sum(isinstance(m, nn.Dropout) for m in net.modules())


def test_dropout_present_only_when_asked():
    # num_downs=6: levels 0..5 have inner widths 1,2,4,8,8,8 x ngf; only level 4 is a
    # non-innermost 8ngf -> 8ngf level, which is where the reference puts dropout.
    assert _dropouts(build_generator("unet", num_downs=6, ngf=2, dropout=True)) == 1
    assert _dropouts(build_generator("unet_256", ngf=2, dropout=True)) == 3
    assert _dropouts(build_generator("unet_256", ngf=2, dropout=False)) == 0
    assert _dropouts(build_generator("resnet", n_blocks=3, ngf=2, dropout=True)) == 3
    assert _dropouts(build_generator("resnet", n_blocks=3, ngf=2)) == 0
    # Dropout is active in train mode and off in eval mode.
    net = build_generator("unet", num_downs=6, ngf=2, dropout=True, norm="none")
    x = torch.randn(1, 3, 64, 64)
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


def test_unet_skip_carries_activated_features():
    # The reference's in-place LeakyReLU means its skips concatenate the activated input.
    net = build_generator("unet", num_downs=2, ngf=2, norm="none")
    level = net.root.inner
    x = -torch.ones(1, 2, 8, 8)
    assert torch.allclose(level(x)[:, :2], torch.full_like(x, -0.2))


# ----------------------------------------------------------------------------- discriminators


@pytest.mark.parametrize("in_ch", [1, 3, 4])
@pytest.mark.parametrize("size", [32, 48, 64])
def test_single_scale_discriminator_shapes(in_ch, size):
    d = build_discriminator("patchgan", in_channels=in_ch, ndf=4)
    s = size // 8 - 2  # three stride-2 convs, then two 4x4 stride-1 convs with padding 1
    assert d(torch.randn(2, in_ch, size, size)).shape == (2, 1, s, s)
    p = build_discriminator("pixel", in_channels=in_ch, ndf=4)
    assert p(torch.randn(2, in_ch, size, size + 8)).shape == (2, 1, size, size + 8)


def test_patchgan_256_gives_30x30():
    d = build_discriminator("patchgan", in_channels=1, ndf=4)
    assert d(torch.randn(1, 1, 256, 256)).shape == (1, 1, 30, 30)
    assert d.receptive_field == 70


def test_receptive_field_formula():
    assert [patchgan_receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]
    with pytest.raises(ValueError):
        patchgan_receptive_field(0)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_receptive_field_measured(n_layers):
    d = build_discriminator("patchgan", in_channels=1, ndf=2, n_layers=n_layers)
    d.eval()  # batch statistics would couple every pixel to every output
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    y = d(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    assert 0 < rows.min() and rows.max() < 127 and 0 < cols.min() and cols.max() < 127  # not clipped
    assert rows.max() - rows.min() + 1 == patchgan_receptive_field(n_layers)
    assert cols.max() - cols.min() + 1 == patchgan_receptive_field(n_layers)


def test_pixel_discriminator_judges_pixels_alone():
    d = build_discriminator("pixel", in_channels=3, ndf=4).eval()
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    d(x)[0, 0, 3, 5].backward()
    assert torch.nonzero(x.grad.abs().sum(1)[0]).tolist() == [[3, 5]]


@pytest.mark.parametrize("name", ["patchgan", "pixel"])
def test_single_scale_features(name):
    d = build_discriminator(name, in_channels=3, ndf=4)
    x = torch.randn(2, 3, 32, 32)
    feats = d.forward_features(x)
    assert len(feats) == 1 == d.num_scales
    expected_blocks = 5 if name == "patchgan" else 3
    assert len(feats[0]) == expected_blocks
    d.eval()
    assert torch.equal(d.forward_features(x)[0][-1], d(x))


def test_multiscale_lists_and_features():
    d = build_discriminator("multiscale", in_channels=3, ndf=4, n_layers=2, num_scales=3, norm="instance")
    assert d.num_scales == 3 and len(d.scales) == 3
    assert all(len(s.blocks) == 4 for s in d.scales)  # n_layers is passed through
    x = torch.randn(2, 3, 64, 64)
    outs = d(x)
    assert isinstance(outs, list) and [o.shape[-1] for o in outs] == [14, 6, 2]  # finest first
    feats = d.forward_features(x)
    assert len(feats) == 3 and all(len(f) == 4 for f in feats)
    for f, o in zip(feats, outs):
        assert torch.allclose(f[-1], o)
    # Scales are independent copies, not one shared net.
    assert d.scales[0].blocks[0][0].weight.data_ptr() != d.scales[1].blocks[0][0].weight.data_ptr()


def test_multiscale_downsampling_averages_real_pixels_only():
    d = build_discriminator("multiscale", in_channels=1, ndf=2)
    assert torch.equal(d.downsample(torch.ones(1, 1, 9, 9)), torch.ones(1, 1, 5, 5))


def test_spectral_norm_wraps_convs():
    d = build_discriminator("patchgan", in_channels=3, ndf=4, spectral_norm=True, norm="none")
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(hasattr(c, "parametrizations") for c in convs)
    init_weights(d, "normal", 0.02)
    d(torch.randn(1, 3, 32, 32))  # one power iteration in train mode
    w = convs[2].weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2) < 1.5
    ms = build_discriminator("multiscale", in_channels=3, ndf=4, spectral_norm=True)
    assert all(hasattr(m, "parametrizations") for m in ms.modules() if isinstance(m, nn.Conv2d))


# ----------------------------------------------------------------------------- layers


def test_norm_layers():
    bn = norm_layer("batch")(8)
    assert isinstance(bn, nn.BatchNorm2d) and bn.affine and bn.track_running_stats
    inorm = norm_layer("instance")(8)
    assert isinstance(inorm, nn.InstanceNorm2d) and not inorm.affine and not inorm.track_running_stats
    assert isinstance(norm_layer("none")(8), nn.Identity)


def test_padding_layers():
    assert isinstance(padding_layer("reflect", 2), nn.ReflectionPad2d)
    assert isinstance(padding_layer("replicate", 1), nn.ReplicationPad2d)
    assert padding_layer("zero", 1) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: norm_layer("group"),
        lambda: padding_layer("circular", 1),
        lambda: build_generator("resnet", norm="layer", ngf=2, n_blocks=1),
        lambda: build_generator("resnet", padding="mirror", ngf=2, n_blocks=0),
        lambda: build_generator("unet", padding="mirror", ngf=2, num_downs=2),
        lambda: build_discriminator("patchgan", in_channels=3, norm="group"),
        lambda: init_weights(nn.Conv2d(1, 1, 1), "uniform"),
    ],
)
def test_unknown_names_fail_with_the_valid_ones(make):
    with pytest.raises(ValueError) as err:
        make()
    msg = str(err.value)
    assert "valid" in msg and ("batch" in msg or "reflect" in msg or "normal" in msg)


def test_unknown_network_name_is_suggested():
    with pytest.raises(KeyError, match="unet_256"):
        build_generator("unet256")


def _stats_net():
    return nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(256), nn.Linear(128, 64), nn.ConvTranspose2d(32, 16, 4))


def test_init_normal_sets_std_and_zero_biases():
    net = init_weights(_stats_net(), "normal", gain=0.05)
    assert net[0].weight.std().item() == pytest.approx(0.05, rel=0.05)
    assert net[0].weight.mean().abs() < 0.005
    assert net[3].weight.std().item() == pytest.approx(0.05, rel=0.1)
    for m in (net[0], net[2], net[3], net[1]):
        assert torch.count_nonzero(m.bias) == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert net[1].weight.std().item() == pytest.approx(0.05, rel=0.2)


def test_init_kinds_differ_as_expected():
    fan_in, fan_out = 64 * 9, 64 * 9
    xavier = init_weights(_stats_net(), "xavier", gain=2.0)[0].weight
    assert xavier.std().item() == pytest.approx(2.0 * math.sqrt(2.0 / (fan_in + fan_out)), rel=0.05)
    kaiming = init_weights(_stats_net(), "kaiming", gain=0.02)[0].weight  # gain unused
    assert kaiming.std().item() == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.05)
    ortho = init_weights(_stats_net(), "orthogonal", gain=0.5)[0].weight.flatten(1)  # 64 x 576
    assert torch.allclose(ortho @ ortho.T, 0.25 * torch.eye(64), atol=1e-5)


def test_init_weights_returns_net_and_touches_spectral_weights():
    d = build_discriminator("pixel", in_channels=3, ndf=4, spectral_norm=True)
    assert init_weights(d, "normal", 0.0) is d
    assert torch.count_nonzero(d.blocks[0][0].parametrizations.weight.original) == 0


def test_set_requires_grad():
    a, b = nn.Linear(2, 2), nn.Conv2d(1, 1, 1)
    set_requires_grad([a, None, b], False)
    assert not any(p.requires_grad for p in [*a.parameters(), *b.parameters()])
    set_requires_grad(a, True)
    assert all(p.requires_grad for p in a.parameters())


def test_resnet_resize_upsampling_keeps_shapes_and_has_no_transposed_convs():
    from torch import nn

    from translate.nets import build_generator

    net = build_generator("resnet", ngf=4, n_blocks=1, upsample="resize")
    x = torch.rand(1, 3, 36, 44)
    assert net(x).shape == x.shape
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    with pytest.raises(ValueError, match="upsample"):
        build_generator("resnet", upsample="pixelshuffle")


def test_resnet_gradient_checkpointing_gives_the_same_output_and_gradients():
    from translate.nets import build_generator

    torch.manual_seed(0)
    net = build_generator("resnet", ngf=4, n_blocks=2)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    y = net(x)
    y.sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    net.gradient_checkpointing = True
    x2 = x.detach().clone().requires_grad_(True)
    y2 = net(x2)
    y2.sum().backward()
    assert torch.allclose(y, y2)
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(grads, net.parameters()))


def test_residual_resnet_starts_near_the_identity_and_keeps_its_range():
    from translate.errors import InvalidSettingError
    from translate.nets import init_weights
    from translate.registry import GENERATORS

    torch.manual_seed(0)
    net = init_weights(GENERATORS.build("resnet", ngf=8, n_blocks=1, residual=True), kind="normal", gain=0.02)
    plain = init_weights(GENERATORS.build("resnet", ngf=8, n_blocks=1), kind="normal", gain=0.02)
    x = torch.rand(2, 3, 16, 16) * 1.6 - 0.8
    y = net(x)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    # Near the input at initialisation, unlike the plain generator's near-constant output.
    assert (y - x).abs().mean() < 0.5 * (plain(x) - x).abs().mean()
    y.sum().backward()
    assert net.head[1].weight.grad.abs().sum() > 0
    with pytest.raises(InvalidSettingError, match="residual"):
        GENERATORS.build("resnet", in_channels=1, out_channels=3, residual=True)


def test_residual_key_reaches_unet_and_resnet_generators_with_a_colour_map_and_refuses_others():
    from translate.config import ConfigError, TrainConfig
    from translate.nets.generators import ResidualOutput
    from translate.translators.pix2pix import Pix2Pix, Pix2PixOptions

    for generator, options in (("resnet", {"n_blocks": 1}), ("resnet_9blocks", {}), ("unet", {"num_downs": 4})):
        opts = Pix2PixOptions(generator=generator, generator_options=options, ngf=4, ndf=4, residual=True)
        head = Pix2Pix(opts, TrainConfig(size=16)).generators["G"].residual
        assert isinstance(head, ResidualOutput) and head.input_map, generator  # applied, never ignored
    opts = Pix2PixOptions(generator="resnet", generator_options={"n_blocks": 1, "input_map": False}, ngf=4, ndf=4,
                          residual=True)
    assert not Pix2Pix(opts, TrainConfig(size=16)).generators["G"].residual.input_map
    with pytest.raises(ConfigError, match="residual"):
        Pix2Pix(Pix2PixOptions(generator="encoder_decoder", ngf=4, ndf=4, residual=True), TrainConfig(size=16))


@pytest.mark.parametrize("builder,options", [("resnet", {"n_blocks": 1}), ("unet", {"num_downs": 4})])
def test_residual_colour_map_starts_at_the_identity_and_moves_fast(builder, options):
    """The map starts as the identity and, against a target that ignores the input (a blank page),
    moves ~MAP_RATE times faster than a plain parameter would at the papers' learning rate: what a
    photo -> sketch translation needs to drop the photo within a short run."""
    from translate.nets import init_weights
    from translate.registry import GENERATORS

    torch.manual_seed(0)
    net = init_weights(GENERATORS.build(builder, ngf=4, residual=True, input_map=True, **options))
    weight, bias = net.residual.colour_map()
    assert torch.equal(weight, torch.eye(3)) and torch.equal(bias, torch.zeros(3))
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = torch.rand(4, 3, 16, 16) * 1.6 - 0.8
    target = torch.full_like(x, 0.9)
    for _ in range(40):
        opt.zero_grad()
        (net(x) - target).abs().mean().backward()
        opt.step()
    weight, bias = net.residual.colour_map()
    assert (weight - torch.eye(3)).abs().max() > 0.2  # a plain parameter: at most 40 * 2e-4 = 0.008
    # Plain residual (the checkpoints of before the map): no parameter, so old files load unchanged.
    plain = GENERATORS.build(builder, ngf=4, residual=True, input_map=False, **options)
    assert set(plain.state_dict()) == set(GENERATORS.build(builder, ngf=4, **options).state_dict())


def test_residual_colour_map_starts_from_example_pairs_by_least_squares():
    from translate.nets.generators import ResidualOutput

    torch.manual_seed(0)
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    true_weight = torch.tensor([[0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.3, 0.3, 0.3]])  # a grey rendering
    y = torch.einsum("oc,nchw->nohw", true_weight, x) + 0.5
    head = ResidualOutput(3, input_map=True)
    with torch.no_grad():
        head.theta_weight.fill_(0.1)  # stale offsets are reset
    head.start_from(x, y)
    weight, bias = head.colour_map()
    assert torch.allclose(weight, true_weight, atol=1e-5) and torch.allclose(bias, torch.full((3,), 0.5), atol=1e-5)
    assert torch.allclose(head(x, torch.zeros_like(x)), y.clamp(-1, 1), atol=1e-5)
    # The fitted start is saved with the weights (buffers), so apply rebuilds the same generator.
    assert {"start_weight", "start_bias", "theta_weight", "theta_bias"} <= set(head.state_dict())


def test_residual_colour_map_starts_from_unpaired_images_by_colour_transfer():
    """start_from_unpaired: no pairs, only each domain's colours. The map carries the inputs' colour
    mean and covariance onto the targets' (the Gaussian optimal-transport map), whatever order or
    positions the target pixels come in; a grey domain (no chroma variance) gives a finite map."""
    from translate.nets.generators import ResidualOutput

    torch.manual_seed(0)
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    toning = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.6, 0.1], [0.1, 0.2, 0.4]])
    y = torch.einsum("oc,nchw->nohw", toning, x) + torch.tensor([0.2, 0.0, -0.2])[None, :, None, None]
    unpaired = y[torch.randperm(6)].flip(-1).roll(3, dims=-2)  # the same colours, no pixel matches
    head = ResidualOutput(3, input_map=True)
    head.start_from_unpaired(x, unpaired)
    weight, bias = (t.detach() for t in head.colour_map())
    moved = weight @ x.permute(1, 0, 2, 3).reshape(3, -1) + bias[:, None]  # before the output's clamp
    target = y.permute(1, 0, 2, 3).reshape(3, -1)
    assert torch.allclose(moved.mean(1), target.mean(1), atol=1e-4)
    assert torch.allclose(torch.cov(moved), torch.cov(target), atol=5e-3)
    assert torch.allclose(weight, weight.T, atol=1e-5)  # a transport map is symmetric, not the toning itself
    assert not torch.allclose(weight, torch.eye(3), atol=0.1)

    grey = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    head.start_from_unpaired(grey, x)
    assert torch.isfinite(head.colour_map()[0]).all() and head.colour_map()[0].abs().max() < 100
    plain = ResidualOutput(3, input_map=False)
    plain.start_from_unpaired(x, y)  # no map to start: nothing to do


@pytest.mark.parametrize("builder,options", [("resnet", {"n_blocks": 1}), ("unet", {"num_downs": 5}),
                                             ("resnet", {"n_blocks": 1, "upsample": "resize"})])
def test_zero_network_output_starts_a_residual_generator_exactly_at_its_map(builder, options):
    """Random N(0, 0.02) weights add visible noise to a residual generator's start; zeroing the
    output conv makes the start exactly M(input), and one optimiser step moves it again."""
    from translate.nets import init_weights
    from translate.nets.generators import zero_network_output

    torch.manual_seed(0)
    net = init_weights(GENERATORS.build(builder, in_channels=3, out_channels=3, ngf=4, residual=True,
                                        input_map=True, **options), "normal", 0.02)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (net(x) - x).abs().mean() > 0.01  # the random network's output
        zero_network_output(net)
        assert torch.equal(net(x), x.clamp(-1, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(2):  # the first step moves only the zeroed layer; the second reaches the rest
        opt.zero_grad()
        (net(x) - x.flip(1)).abs().mean().backward()
        opt.step()
    assert not torch.equal(net(x), x)
    plain = init_weights(GENERATORS.build(builder, in_channels=3, out_channels=3, ngf=4, **options), "normal", 0.02)
    before = {k: v.clone() for k, v in plain.state_dict().items()}
    zero_network_output(plain)  # no residual output: untouched
    assert all(torch.equal(before[k], v) for k, v in plain.state_dict().items())
