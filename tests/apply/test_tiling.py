"""Tiles: coverage, exact blending, equality with whole-frame translation, and the out-of-memory fallback."""
import pytest
import torch
from torch import nn

from translate.apply.images import translate_tensor
from translate.apply.tiling import TileSpec, TilingNet, tile_starts, translate_tiled
from translate.nets import build_generator


@pytest.mark.parametrize("length,tile,overlap", [(100, 32, 8), (64, 64, 16), (65, 64, 16), (10, 32, 8), (257, 96, 48)])
def test_tiles_cover_everything_and_overlap_as_asked(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = torch.zeros(length, dtype=torch.bool)
    for s in starts:
        covered[s:s + tile] = True
    assert covered.all() and starts[0] == 0
    assert starts[-1] + min(tile, length) == length  # the last tile ends at the border, never past it
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))


def test_blending_weights_sum_out_exactly():
    x = torch.rand(2, 3, 70, 90)
    assert torch.allclose(translate_tiled(lambda t: t * 2, x, TileSpec(32, 12)), x * 2, atol=1e-6)


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_tiles_match_whole_frame_for_a_fully_convolutional_net(norm):
    net = build_generator("resnet", ngf=8, n_blocks=2, norm=norm).eval()
    x = torch.rand(1, 3, 160, 224) * 2 - 1
    with torch.no_grad():
        whole = net(x)
        tiled = translate_tiled(net, x, TileSpec(96, 48))
        # The same tiles cut hard (no overlap, no ramp) show seams: blending is what removes them.
        seams = translate_tiled(net, x, TileSpec(64, 0))
    inner = (slice(None), slice(None), slice(24, -24), slice(24, -24))
    assert (tiled - whole)[inner].abs().max() < 2e-3  # < 0.3 grey levels
    assert (seams - whole)[inner].abs().max() > 10 * (tiled - whole)[inner].abs().max()


class _SmallMemoryNet(nn.Module):
    """Behaves as if the device ran out of memory for inputs over 48 px."""

    size_multiple = 4

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(tuple(x.shape[-2:]))
        if max(x.shape[-2:]) > 48:
            raise RuntimeError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return -x


def test_auto_mode_falls_back_to_tiles_only_when_the_whole_frame_does_not_fit():
    messages = []
    net = TilingNet(_SmallMemoryNet(), "auto", TileSpec(32, 8), trained_size=32, on_message=messages.append)
    x = torch.rand(1, 3, 30, 30) * 2 - 1
    assert torch.allclose(translate_tensor(net, x, 4, None), -x)  # fits: whole
    big = torch.rand(1, 3, 100, 70) * 2 - 1
    assert torch.allclose(translate_tensor(net, big, 4, None), -big, atol=1e-6)
    assert any("do not fit" in m and "tiles" in m for m in messages)
    assert max(max(s) for s in net.net.seen[-3:]) <= 32  # the retry used tiles


def test_off_mode_does_not_hide_out_of_memory_and_on_mode_always_tiles():
    with pytest.raises(RuntimeError, match="out of memory"):
        translate_tensor(TilingNet(_SmallMemoryNet(), "off"), torch.zeros(1, 3, 64, 64), 4, None)
    messages = []
    net = TilingNet(_SmallMemoryNet(), "on", TileSpec(40, 8), on_message=messages.append)
    translate_tensor(net, torch.zeros(1, 3, 64, 64), 4, None)
    assert messages and "tiles" in messages[0] and all(max(s) <= 40 for s in net.net.seen)


def test_tile_spec_rejects_nonsense():
    with pytest.raises(ValueError):
        TileSpec(32, 32)
    assert TileSpec(30, 8).aligned(8).size == 32
