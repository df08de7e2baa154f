"""The generator contract (translate.nets.contract): declared capabilities, refused when missing,
and encoder features that are the network's own activations."""
import pytest
import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets import build_generator
from translate.nets.contract import Generator
from translate.registry import GENERATOR_CONTRACT, GENERATORS, ContractError, Registry

torch.set_num_threads(1)


def _registry() -> Registry:
    return Registry("generator", contract=GENERATOR_CONTRACT)


def test_a_generator_class_without_the_contract_is_refused_at_registration():
    class Plain(nn.Module):
        size_multiple = 4

    def plain(**kw) -> Plain:
        return Plain()

    with pytest.raises(ContractError, match="Plain does not declare supports_gradient_checkpointing"):
        _registry().register("plain")(plain)


def test_a_builder_that_does_not_say_what_it_builds_is_refused():
    def anonymous(**kw):
        return Generator()

    with pytest.raises(ContractError, match="must annotate the class it returns"):
        _registry().register("anonymous")(anonymous)


def test_a_builder_that_returns_another_class_than_it_declares_is_refused_at_build():
    class Declared(Generator):
        pass

    def lying(**kw) -> Declared:
        return nn.Identity()

    registry = _registry()
    registry.register("lying")(lying)
    with pytest.raises(ContractError, match="built a Identity, not the Declared"):
        registry.build("lying")


def test_a_subclass_of_generator_registers_with_the_defaults():
    class Minimal(Generator):
        def forward(self, x):
            return x

    registry = _registry()
    registry.register("minimal")(Minimal)
    net = registry.build("minimal")
    assert net.size_multiple == 1 and net.feature_layers == () and not Minimal.supports_gradient_checkpointing
    net.set_gradient_checkpointing(True)  # a memory hint it cannot use: ignored, as it always was
    assert net.gradient_checkpointing is False
    with pytest.raises(InvalidSettingError, match="cannot sample"):
        net.sample(torch.zeros(1, 2))


def test_every_registered_generator_is_a_generator():
    for name in GENERATORS.names():
        with torch.device("meta"):
            kwargs = {"size": 16, "latent_dim": 4} if name == "cogan_inverter" else {}
            assert isinstance(build_generator(name, ngf=2, **kwargs), Generator), name


def test_resnet_names_the_layers_cut_samples_and_encode_returns_its_own_activations():
    net = build_generator("resnet_9blocks", in_channels=3, out_channels=3, ngf=4).eval()
    # CUT's default nce_layers 0,4,8,12,16 on the reference Sequential: image, two downsamplings, blocks 0 and 4.
    cut = ("input", "down0", "down1", "block0", "block4")
    assert set(cut) <= set(net.feature_layers) and net.feature_layers[0] == "input"
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        features = net.encode(x, cut)
        assert [tuple(f.shape) for f in features] == [(2, 3, 32, 32), (2, 8, 16, 16), (2, 16, 8, 8),
                                                       (2, 16, 8, 8), (2, 16, 8, 8)]
        assert torch.equal(features[0], x)
        # The last block's activations, decoded, are the network's output: encode is the real encoder.
        last = net.encode(x, ["block8"])[0]
        assert torch.allclose(net.head(net.up(last)), net(x))
        assert torch.equal(net.encode(x, ["block4", "down0"])[1], features[1])  # any order, any subset


def test_unet_encoder_features_halve_at_each_level():
    net = build_generator("unet", in_channels=1, out_channels=3, ngf=4, num_downs=3).eval()
    assert net.feature_layers == ("input", "down0", "down1", "down2")
    with torch.no_grad():
        shapes = [tuple(f.shape) for f in net.encode(torch.rand(1, 1, 16, 16), net.feature_layers)]
    assert shapes == [(1, 1, 16, 16), (1, 4, 8, 8), (1, 8, 4, 4), (1, 16, 2, 2)]


def test_an_unknown_or_undeclared_feature_layer_is_one_line():
    net = build_generator("resnet", ngf=4, n_blocks=1)
    with pytest.raises(InvalidSettingError, match="no feature layer 'block7' .declared: input, stem"):
        net.encode(torch.zeros(1, 3, 8, 8), ["block7"])
    local = build_generator("pix2pixhd_local", ngf=4, n_downsampling=1, n_blocks=1, n_blocks_local=1)
    with pytest.raises(InvalidSettingError, match="LocalEnhancer has no feature layer 'input' .declared: none"):
        local.encode(torch.zeros(1, 3, 8, 8), ["input"])


def test_checkpointed_features_equal_plain_ones():
    net = build_generator("resnet", ngf=4, n_blocks=2)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    plain = net.encode(x, ["down1", "block1"])
    net.set_gradient_checkpointing(True)
    assert net.gradient_checkpointing is True
    checkpointed = net.encode(x, ["down1", "block1"])
    for a, b in zip(plain, checkpointed):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("checkpointed", [False, True])
def test_resnet_gives_its_output_and_features_from_one_pass_equal_to_two(checkpointed):
    """forward_with_features: the same output as forward and the same activations as encode
    (CUT's keys from the pass that translates the sources), residual head and checkpoints included."""
    torch.manual_seed(0)
    net = build_generator("resnet", ngf=4, n_blocks=2, residual=True, downsample="antialias", upsample="antialias")
    with torch.no_grad():  # a non-zero network on top of the colour map
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    net.set_gradient_checkpointing(checkpointed)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    out, features = net.forward_with_features(x, ["block1", "input", "down0"])
    assert torch.equal(out, net(x))
    for a, b in zip(features, net.encode(x, ["block1", "input", "down0"])):
        assert torch.equal(a, b)
    out.mean().backward()  # the features are the pass's own: the output's gradient reaches every weight
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_a_generator_whose_forward_is_not_its_stages_gives_no_features_from_it():
    net = build_generator("unet", in_channels=3, out_channels=3, ngf=4, num_downs=3).eval()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        out, features = net.forward_with_features(x, ["down0"])
        assert features is None and torch.equal(out, net(x))


def test_capabilities_are_declared_per_class():
    assert build_generator("resnet", ngf=4).supports_gradient_checkpointing
    assert not build_generator("unet", ngf=4, num_downs=3).supports_gradient_checkpointing
    inverter = build_generator("cogan_inverter", ngf=4, size=16, latent_dim=4, in_channels=1, out_channels=3)
    assert type(inverter).supports_sampling and inverter.size_multiple == 1
    assert (inverter.in_channels, inverter.out_channels) == (1, 3)
    assert not type(build_generator("resnet", ngf=4)).supports_sampling


def test_presets_take_the_class_options_but_the_fixed_ones():
    import inspect

    params = inspect.signature(GENERATORS.get("resnet_9blocks")).parameters
    assert "n_blocks" not in params and "upsample" in params and "downsample" in params and "residual" in params
    net = build_generator("resnet_9blocks", ngf=4, n_blocks=2)  # a fixed option from a file: ignored, as before
    assert len(net.blocks) == 9
    assert GENERATORS.get("unet_128").__doc__.startswith("U-Net with 7 downsamplings")
