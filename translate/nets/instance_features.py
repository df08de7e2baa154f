"""pix2pixHD's instance-wise feature encoder (Wang et al. 2018, section 3.4): a style code per object.

The encoder ``E`` reads the *photo* and gives a low-dimensional feature map (``channels``, 3 by
default) that is then averaged over every instance of the instance map, so each object (one car,
one stretch of road) carries one constant feature vector. The generator reads these features beside
the label map; at apply time the photo is not there, so the features come from clusters of the
vectors E gave the training objects (``translate.data.feature_clusters``), chosen per label: the
choice is what makes one label map come out as a red or a grey car, asphalt or cobbles.

Layers and their order are pix2pixHD's ``Encoder`` (``models/networks.py``): 7x7 stem, ``n_down``
stride-2 convs, as many transposed convs back up, 7x7 head with tanh, each conv followed by the
norm and ReLU. Its ``model.N`` keys are theirs, so a published ``latest_net_E.pth`` loads as it is.

The average: pix2pixHD loops over instances, batch items and channels in Python. Here one
``scatter_add`` sums each (item, instance) at once, with the ids made dense per item, so the
cost does not grow with the number of objects; gradients flow to every pixel of an instance.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
from torch import nn

from translate.nets.layers import norm_layer

DEFAULT_CHANNELS = 3  # pix2pixHD's feat_num
DEFAULT_WIDTH = 16  # pix2pixHD's nef
DEFAULT_DOWNSAMPLING = 4  # pix2pixHD's n_downsample_E


def instance_ids(instances: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """Instance maps (``B x 1 x H x W`` or ``B x H x W`` integer ids) -> (dense ids ``B x H*W`` that
    are unique across the batch, their count). Item b's instances get ids no other item uses, so
    one scatter averages every item's objects separately."""
    flat = instances.reshape(instances.shape[0], -1).long()
    _, dense = torch.unique(flat, return_inverse=True)  # per value, shared across items ...
    per_item = int(dense.max()) + 1 if dense.numel() else 1
    offsets = torch.arange(flat.shape[0], device=flat.device)[:, None] * per_item  # ... so made per item
    return dense + offsets, flat.shape[0] * per_item


def instance_mean(features: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """``features`` (``B x C x H x W``) replaced at every pixel by the mean over its instance (same shape)."""
    b, c, h, w = features.shape
    ids, count = instance_ids(instances)
    flat = features.reshape(b, c, h * w).permute(1, 0, 2).reshape(c, b * h * w)
    index = ids.reshape(1, -1).expand(c, -1)
    sums = torch.zeros(c, count, dtype=features.dtype, device=features.device).scatter_add(1, index, flat)
    sizes = torch.zeros(count, dtype=features.dtype, device=features.device).scatter_add(
        0, ids.reshape(-1), torch.ones_like(ids.reshape(-1), dtype=features.dtype))
    means = sums / sizes.clamp(min=1)
    return means.gather(1, index).reshape(c, b, h * w).permute(1, 0, 2).reshape(b, c, h, w)


class InstanceFeatureEncoder(nn.Module):
    """Photo (``B x image_channels x H x W`` in [-1, 1]) + instance ids -> per-instance features in (-1, 1).

    H and W must be multiples of ``2**n_down`` (the training crops are: the generator's multiple
    is at least as large).
    """

    def __init__(self, image_channels: int = 3, channels: int = DEFAULT_CHANNELS, width: int = DEFAULT_WIDTH,
                 n_down: int = DEFAULT_DOWNSAMPLING, norm: str = "instance"):
        super().__init__()
        self.channels = channels
        self.size_multiple = 2**n_down
        norm_of = norm_layer(norm)
        layers: List[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(image_channels, width, 7), norm_of(width),
                                   nn.ReLU()]
        for i in range(n_down):
            w = width * 2**i
            layers += [nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), norm_of(2 * w), nn.ReLU()]
        for i in range(n_down):
            w = width * 2**(n_down - i)
            layers += [nn.ConvTranspose2d(w, w // 2, 3, stride=2, padding=1, output_padding=1), norm_of(w // 2),
                       nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        return instance_mean(self.model(image), instances)
