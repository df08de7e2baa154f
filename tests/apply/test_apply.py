import pytest
import torch
from torch import nn

from translate.apply.batch import plan_media as plan_outputs
from translate.apply.images import ApplyError, pad_to_multiple, translate_tensor


class _Shift(nn.Module):
    """A stand-in generator that needs multiples of 8 and returns its input + 0.5."""

    size_multiple = 8

    def forward(self, x):
        assert x.shape[-1] % 8 == 0 and x.shape[-2] % 8 == 0
        return x + 0.5


@pytest.mark.parametrize("h,w", [(8, 8), (5, 13), (1, 1), (17, 9)])
def test_pad_then_crop_restores_the_size(h, w):
    x = torch.rand(2, 3, h, w)
    padded, size = pad_to_multiple(x, 8)
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0 and size == (h, w)
    assert torch.equal(padded[..., :h, :w], x)  # original pixels untouched, padding only bottom/right
    y = translate_tensor(_Shift(), x, 8, None)
    assert y.shape == x.shape and torch.allclose(y, x + 0.5)


def test_plan_mirrors_tree_and_refuses_to_write_into_input(tmp_path):
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.png").write_bytes(b"")
    (src / "y.jpg").write_bytes(b"")
    pairs = plan_outputs(src, tmp_path / "out")
    assert sorted(str(d.relative_to(tmp_path / "out")) for _, d in pairs) == ["a/x.png", "y.jpg"]
    with pytest.raises(ApplyError, match="inside the input"):
        plan_outputs(src, src / "results")
    with pytest.raises(ApplyError, match="inside the input"):
        plan_outputs(src, src)
    with pytest.raises(ApplyError, match="overwrite"):
        plan_outputs(src / "y.jpg", src / "y.jpg")
    assert plan_outputs(src / "y.jpg", tmp_path / "o") == [(src / "y.jpg", tmp_path / "o" / "y.jpg")]


def test_batches_reach_the_network_in_nchw_layout():
    import numpy as np

    from translate.apply.inputs import RGBInput

    x = RGBInput.to_batch(None, [np.zeros((5, 7, 3), np.uint8)] * 2)
    assert x.shape == (2, 3, 5, 7) and x.is_contiguous()
