"""Anti-aliased resampling (translate.nets.antialias) and the ResNet generator's antialias options."""
import pytest
import torch
import torch.nn.functional as F

from translate.nets import build_generator
from translate.nets.antialias import BlurDownsample, BlurUpsample, binomial_filter

torch.set_num_threads(1)


def test_binomial_filters_are_the_normalised_outer_products():
    torch.testing.assert_close(binomial_filter(3), torch.tensor([[1., 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    row = torch.tensor([1., 3, 3, 1])
    torch.testing.assert_close(binomial_filter(4), torch.outer(row, row) / 64)


@pytest.mark.parametrize("h,w", [(8, 8), (7, 10), (2, 3)])
def test_shapes(h, w):
    x = torch.rand(2, 3, h, w)
    assert BlurDownsample(3)(x).shape == (2, 3, (h + 1) // 2, (w + 1) // 2)  # as a 3x3 stride-2 conv, padding 1
    assert BlurUpsample(3)(x).shape == (2, 3, 2 * h, 2 * w)


def test_a_constant_image_stays_constant():
    x = torch.full((1, 2, 6, 9), 0.37)
    torch.testing.assert_close(BlurDownsample(2)(x), torch.full((1, 2, 3, 5), 0.37))
    torch.testing.assert_close(BlurUpsample(2)(x), torch.full((1, 2, 12, 18), 0.37))


def test_blur_pool_by_hand_on_a_ramp():
    # x[i, j] = 4i + j. Kept pixels (0,0), (0,2), (2,0), (2,2); per axis [1,2,1]/4, and the
    # reflected border at 0 reads x[1] on both sides: i-part (4+0+4)/4 = 2 at row 0, (4+16+12)/4 = 8
    # at row 2; j-part (1+0+1)/4 = 0.5 at column 0, (1+4+3)/4 = 2 at column 2.
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(BlurDownsample(1)(x), torch.tensor([[[[2.5, 4.0], [8.5, 10.0]]]]))


def test_blur_upsampling_by_hand_and_as_bilinear_interpolation():
    # Per axis every output pixel is 3/4 of its nearer and 1/4 of its farther input pixel, the
    # borders repeating the edge: [0, 8] -> [0, 2, 6, 8] down the rows, [0, 4] -> [0, 1, 3, 4] across.
    x = torch.tensor([[[[0.0, 4.0], [8.0, 12.0]]]])
    expected = torch.tensor([0., 2, 6, 8])[:, None] + torch.tensor([0., 1, 3, 4])[None, :]
    torch.testing.assert_close(BlurUpsample(1)(x)[0, 0], expected)
    y = torch.randn(2, 3, 5, 7)
    torch.testing.assert_close(BlurUpsample(3)(y), F.interpolate(y, scale_factor=2, mode="bilinear",
                                                                 align_corners=False))


def test_blur_pool_removes_what_subsampling_aliases():
    # A checkerboard is the highest frequency an image holds: plain subsampling turns it into a
    # constant whose sign depends on a one-pixel shift; the blur removes it before subsampling.
    i, j = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    board = ((-1.0) ** (i + j)).view(1, 1, 8, 8)
    shifted = torch.roll(board, 1, dims=-1)
    assert float(board[..., ::2, ::2].mean()) == 1.0 and float(shifted[..., ::2, ::2].mean()) == -1.0
    for x in (board, shifted):
        assert float(BlurDownsample(1)(x).abs().max()) < 1e-6


def test_filters_are_constants_outside_the_state_dict_that_follow_dtype_and_pass_gradients():
    for module in (BlurDownsample(2), BlurUpsample(2)):
        assert dict(module.state_dict()) == {} and not list(module.parameters())
        module = module.double()
        assert module.filter.dtype == torch.float64
        x = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,))


# --------------------------------------------------------------------------- in the ResNet generator


def _cut_resnet(**kw):
    return build_generator("resnet", ngf=4, n_blocks=1, downsample="antialias", upsample="antialias", **kw)


def test_antialias_resnet_keeps_shapes_size_multiple_and_only_learned_weights():
    net = _cut_resnet()
    x = torch.rand(2, 3, 36, 44) * 2 - 1
    assert net(x).shape == x.shape and net.size_multiple == 4
    assert not any(k.endswith("filter") for k in net.state_dict())
    # The same learned shapes as the stride/transpose network, except that the up convs are
    # plain (out, in) convs instead of transposed (in, out) ones.
    plain = build_generator("resnet", ngf=4, n_blocks=1)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters())


def test_antialias_resnet_features_and_gradient_checkpointing():
    torch.manual_seed(0)
    net = _cut_resnet()
    x = torch.rand(1, 3, 32, 32)
    down0, block0 = net.encode(x, ["down0", "block0"])
    assert down0.shape == (1, 8, 16, 16) and block0.shape == (1, 16, 8, 8)  # down0 is taken after the blur

    def output_and_grads():
        net.zero_grad()
        y = net(x)
        y.square().sum().backward()
        return y.detach(), [p.grad.clone() for p in net.parameters()]

    plain, plain_grads = output_and_grads()
    net.set_gradient_checkpointing(True)
    checkpointed, grads = output_and_grads()
    torch.testing.assert_close(checkpointed, plain)
    for a, b in zip(grads, plain_grads):
        torch.testing.assert_close(a, b)


def test_the_presets_take_the_sampling_and_refuse_unknown_names():
    net = build_generator("resnet_6blocks", ngf=4, downsample="antialias", upsample="antialias")
    assert len(net.blocks) == 6 and any(isinstance(m, BlurDownsample) for m in net.modules())
    cyclegan = build_generator("resnet_6blocks", ngf=4)  # the default stays CycleGAN's network
    assert not any(isinstance(m, (BlurDownsample, BlurUpsample)) for m in cyclegan.modules())
    with pytest.raises(ValueError, match="downsample 'blur'"):
        build_generator("resnet", downsample="blur")
