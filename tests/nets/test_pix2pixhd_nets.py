"""pix2pixHD generators: shapes, pix2pixHD's parameter layout, global->local transfer, checkpointing."""
import pytest
import torch

from translate.nets import build_generator
from translate.nets.pix2pixhd import GlobalGenerator, LocalEnhancer

torch.set_num_threads(1)

TINY = dict(n_downsampling=2, n_blocks=1)


def _conv(cin, cout, k, transposed=False):
    return [(cin, cout, k, k) if transposed else (cout, cin, k, k), (cout,)]


def _block(c):
    return _conv(c, c, 3) * 2


def _reference_global(in_ch, out_ch, ngf, n_down, n_blocks, head=True):
    """pix2pixHD GlobalGenerator's state-dict shapes (instance norm), from its recipe."""
    shapes = _conv(in_ch, ngf, 7)
    for i in range(n_down):
        shapes += _conv(ngf * 2**i, ngf * 2 ** (i + 1), 3)
    shapes += _block(ngf * 2**n_down) * n_blocks
    for i in range(n_down, 0, -1):
        shapes += _conv(ngf * 2**i, ngf * 2 ** (i - 1), 3, transposed=True)
    return shapes + (_conv(ngf, out_ch, 7) if head else [])


def _reference_local(in_ch, out_ch, ngf, n_down, n_blocks, n_enh, n_blocks_local):
    """pix2pixHD LocalEnhancer: model (global minus head), then model{n}_1, model{n}_2 per enhancer."""
    shapes = _reference_global(in_ch, out_ch, ngf * 2**n_enh, n_down, n_blocks, head=False)
    for n in range(1, n_enh + 1):
        w = ngf * 2 ** (n_enh - n)
        shapes += _conv(in_ch, w, 7) + _conv(w, 2 * w, 3)  # model{n}_1
        shapes += _block(2 * w) * n_blocks_local + _conv(2 * w, w, 3, transposed=True)  # model{n}_2
    return shapes + _conv(ngf, out_ch, 7)  # the last model{n}_2 ends with the head


def _shapes(net):
    return [tuple(v.shape) for v in net.state_dict().values()]


def test_parameter_layout_matches_pix2pixhd_defaults():
    # Cityscapes: 35 classes + instance boundary channel in, RGB out.
    with torch.device("meta"):
        g = build_generator("pix2pixhd_global", in_channels=36, out_channels=3)
        l1 = build_generator("pix2pixhd_local", in_channels=36, out_channels=3)
        l2 = build_generator("pix2pixhd_local", in_channels=36, out_channels=3, n_enhancers=2)
    assert _shapes(g) == _reference_global(36, 3, 64, 4, 9)
    assert _shapes(l1) == _reference_local(36, 3, 32, 4, 9, 1, 3)
    assert _shapes(l2) == _reference_local(36, 3, 32, 4, 9, 2, 3)
    # The local enhancer's global trunk is the global generator with ngf 64 minus its head.
    assert _shapes(l1)[: len(_shapes(g)) - 2] == _shapes(g)[:-2]


def test_batch_norm_keeps_conv_biases_like_pix2pixhd():
    g = build_generator("pix2pixhd_global", ngf=2, norm="batch", **TINY)
    assert all(m.bias is not None for m in g.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))


@pytest.mark.parametrize("num_classes", [3, 7, 13])  # odd label counts, + 1 boundary channel
@pytest.mark.parametrize("name,kwargs,multiple", [
    ("pix2pixhd_global", dict(ngf=4, **TINY), 4),
    ("pix2pixhd_local", dict(ngf=2, n_blocks_local=1, **TINY), 8),
    ("pix2pixhd_local", dict(ngf=2, n_enhancers=2, n_blocks_local=1, **TINY), 16),
])
def test_shapes_for_sizes_divisible_by_the_multiple(num_classes, name, kwargs, multiple):
    net = build_generator(name, in_channels=num_classes + 1, out_channels=3, **kwargs)
    assert net.size_multiple == multiple
    for h, w in [(2 * multiple, 3 * multiple), (5 * multiple, 2 * multiple)]:
        y = net(torch.rand(2, num_classes + 1, h, w))
        assert y.shape == (2, 3, h, w) and y.abs().max() <= 1


def test_default_multiples():
    with torch.device("meta"):
        assert build_generator("pix2pixhd_global").size_multiple == 16
        assert build_generator("pix2pixhd_local").size_multiple == 32
        assert build_generator("pix2pixhd_local", n_enhancers=2).size_multiple == 64


def test_global_to_local_transfer_keeps_the_global_output():
    g = GlobalGenerator(5, 3, ngf=8, **TINY)
    torch.nn.init.normal_(g.trunk.blocks[0].body[1].weight)  # make the copy distinguishable
    local = LocalEnhancer(5, 3, ngf=4, n_enhancers=1, n_blocks_local=1, **TINY)
    local.load_global(g)
    x = torch.rand(1, 5, 16, 24)
    with torch.no_grad():
        # The transferred trunk computes exactly what the trained global generator computed:
        # its head on the local's trunk features gives the global output back.
        assert torch.equal(local.global_trunk.stages()[-1](
            torch.nn.Sequential(*local.global_trunk.stages()[:-1])(x)), _trunk(g, x))
        assert torch.allclose(g.head(_trunk(local, x)), g(x))


def _trunk(net, x):
    trunk = net.trunk if isinstance(net, GlobalGenerator) else net.global_trunk
    return torch.nn.Sequential(*trunk.stages())(x)


def test_transfer_refuses_a_global_of_the_wrong_width():
    local = LocalEnhancer(5, 3, ngf=4, n_enhancers=1, **TINY)
    with pytest.raises(ValueError, match="ngf must be 8"):
        local.load_global(GlobalGenerator(5, 3, ngf=4, **TINY))


@pytest.mark.parametrize("net", [GlobalGenerator(4, 3, ngf=4, **TINY),
                                 LocalEnhancer(4, 3, ngf=2, n_blocks_local=1, **TINY)])
def test_gradient_checkpointing_changes_nothing_but_memory(net):
    x = torch.rand(2, 4, 16, 16)
    outputs, grads = [], []
    for flag in (False, True):
        net.gradient_checkpointing = flag
        net.zero_grad()
        y = net(x)
        y.square().mean().backward()
        outputs.append(y.detach())
        grads.append([p.grad.clone() for p in net.parameters()])
    assert torch.allclose(*outputs)
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-6)
