"""Perceptual (VGG feature) loss, with ImageNet weights read only from local files."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

from translate.errors import InputNotFoundError, InvalidSettingError
from translate.losses.precision import at_least_fp32
from translate.registry import LOSSES

# Convolutions per block of torchvision's VGG configurations "D" (vgg16) and "E" (vgg19),
# and the channel width of each block (the same for both).
_VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_VGG_WIDTHS = (64, 128, 256, 512, 512)

# torchvision's own file names for the ImageNet weights, so a torch hub cache filled by
# torchvision (or by hand) is found without downloading anything.
VGG_WEIGHT_FILES = {"vgg16": "vgg16-397923af.pth", "vgg19": "vgg19-dcbb9e9d.pth"}

# pix2pixHD's VGGLoss: the first ReLU of each block, deeper layers weigh more.
DEFAULT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DEFAULT_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _layer_table(blocks: Sequence[int]) -> Dict[str, int]:
    """Layer name (conv3_2, relu3_2, pool3, ...) -> index in ``torchvision vgg.features``."""
    table, index = {}, 0
    for block, convs in enumerate(blocks, start=1):
        for conv in range(1, convs + 1):
            table[f"conv{block}_{conv}"] = index
            table[f"relu{block}_{conv}"] = index + 1
            index += 2
        table[f"pool{block}"] = index
        index += 1
    return table


# e.g. VGG_LAYERS["vgg19"]["relu5_1"] == 29, VGG_LAYERS["vgg16"]["relu5_1"] == 25
VGG_LAYERS: Dict[str, Dict[str, int]] = {net: _layer_table(b) for net, b in _VGG_BLOCKS.items()}


def default_weights_path(network: str) -> str:
    """Where torchvision caches the ImageNet weights of ``network`` (may not exist)."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", VGG_WEIGHT_FILES[network])


def _vgg_feature_stack(network: str, depth: int) -> nn.Sequential:
    """The first ``depth`` modules of torchvision's ``vgg16/vgg19().features``, same indices.

    Built here rather than via ``torchvision.models.vgg19(weights=None)`` because that
    also allocates and initialises the 120M-parameter classifier, about 0.5 GB and
    seconds per loss, only to throw it away. The layout (3x3 conv + ReLU, 2x2 max-pool
    closing each block) and so the state-dict keys are torchvision's; tests check that.
    """
    layers: List[nn.Module] = []
    in_channels = 3
    for convs, width in zip(_VGG_BLOCKS[network], _VGG_WIDTHS):
        for _ in range(convs):
            # not in-place: a stored conv activation may itself be a requested feature
            layers += [nn.Conv2d(in_channels, width, kernel_size=3, padding=1), nn.ReLU()]
            in_channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers[:depth])


def _vgg_features(network: str, depth: int, weights_path: Optional[str], pretrained: bool) -> nn.Sequential:
    """VGG features up to ``depth``, with ImageNet weights when ``pretrained``."""
    features = _vgg_feature_stack(network, depth)
    if pretrained:
        path = weights_path or default_weights_path(network)
        if not os.path.isfile(path):
            raise InputNotFoundError(
                f"perceptual loss: ImageNet {network} weights not found at {path} (torchvision's "
                f"{VGG_WEIGHT_FILES[network]}); nothing is downloaded, so copy that file there, "
                f"pass a local copy with --set vgg_weights=PATH, or switch the term off with "
                f"--set lambda_perceptual=0"
            )
        from translate.model_files.pickles import CheckpointError, torch_load_safely

        state = torch_load_safely(Path(path), f"{network} weights file")
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{path}: not a state dict of {network} tensors")
        # Only the kept layers are loaded (strictly): the classifier and deeper layers of a
        # full torchvision file are ignored, and a file holding just those layers suffices.
        prefix = "features."
        kept = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        kept = {k: v for k, v in kept.items() if int(k.split(".")[0]) < depth}
        features.load_state_dict(kept, strict=True)
    return features


@LOSSES.register("perceptual")
class PerceptualLoss(nn.Module):
    """Weighted L1 between VGG features of output and target (pix2pixHD's VGG loss).

    With ``phi_i`` the activation of VGG layer ``i`` (ImageNet weights, frozen)::

        loss = sum_i w_i * mean|phi_i(pred) - phi_i(target)|

    ``phi_i(target)`` is computed without gradient (it is a fixed target). Defaults
    are pix2pixHD's: layers relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of VGG19 with
    weights 1/32, 1/16, 1/8, 1/4, 1.

    Images in [-1, 1] are mapped to [0, 1] and normalised with the ImageNet mean/std
    the network was trained with; single-channel images are repeated to 3 channels.

    Weights are never downloaded. They are read from ``weights_path`` if given, else
    from torchvision's hub cache ``<torch.hub.get_dir()>/checkpoints/vgg19-dcbb9e9d.pth``
    (``vgg16-397923af.pth`` for vgg16), and a missing file raises FileNotFoundError.

    Args:
        network: ``"vgg19"`` or ``"vgg16"``.
        layers: layer names such as ``"relu3_1"``, ``"conv4_2"``, ``"pool2"`` (see
            ``VGG_LAYERS``); default pix2pixHD's five.
        layer_weights: one weight per layer; default pix2pixHD's for the default layers,
            else 1 for every layer.
        weights_path: a torchvision VGG state dict (``.pth``, keys ``features.<i>.*``);
            only the layers up to the deepest one used are read.
        pretrained: ``False`` keeps random weights; only for tests, the loss is
            meaningless without ImageNet features.

    Shapes: ``pred``, ``target`` ``Bx3xHxW`` or ``Bx1xHxW`` in [-1, 1]; returns a
    float32 scalar. The VGG parameters stay frozen and in eval mode even after
    ``.train()``.

    Example:
        >>> loss = PerceptualLoss(pretrained=False)
        >>> x = torch.rand(1, 3, 32, 32) * 2 - 1
        >>> float(loss(x, x))
        0.0
    """

    def __init__(
        self,
        network: str = "vgg19",
        layers: Optional[Sequence[str]] = None,
        layer_weights: Optional[Sequence[float]] = None,
        weights_path: Optional[str] = None,
        pretrained: bool = True,
    ):
        super().__init__()
        if network not in VGG_LAYERS:
            raise InvalidSettingError(f"unknown network {network!r}; valid: {', '.join(VGG_LAYERS)}")
        if layers is None:
            layers = DEFAULT_LAYERS
            layer_weights = DEFAULT_LAYER_WEIGHTS if layer_weights is None else layer_weights
        layers = list(layers)
        layer_weights = [1.0] * len(layers) if layer_weights is None else list(layer_weights)
        if not layers or len(layer_weights) != len(layers):
            raise InvalidSettingError(
                f"need one weight per layer and at least one layer; got {len(layers)} layers "
                f"and {len(layer_weights)} weights"
            )
        table = VGG_LAYERS[network]
        unknown = [name for name in layers if name not in table]
        if unknown:
            raise InvalidSettingError(
                f"unknown {network} layers {unknown}; valid: {', '.join(table)}"
            )
        self.network = network
        self.layers = layers
        self.layer_weights = [float(w) for w in layer_weights]
        self._indices = [table[name] for name in layers]

        # Layers past the deepest requested one are never needed.
        features = _vgg_features(network, max(self._indices) + 1, weights_path, pretrained)
        features.requires_grad_(False)
        self.features = features.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "PerceptualLoss":
        # A frozen feature extractor must keep eval behaviour whatever the translator does.
        super().train(mode)
        self.features.eval()
        return self

    def _normalise(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        elif x.shape[1] != 3:
            raise ValueError(f"perceptual loss needs 1 or 3 channels, got {x.shape[1]}")
        return ((at_least_fp32(x) + 1.0) / 2.0 - self.mean) / self.std

    def _extract(self, x: Tensor) -> List[Tensor]:
        activations = {}
        for index, module in enumerate(self.features):
            x = module(x)
            activations[index] = x
        return [activations[index] for index in self._indices]

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        pred_features = self._extract(self._normalise(pred))
        with torch.no_grad():
            target_features = self._extract(self._normalise(target))
        total = pred_features[0].new_zeros((), dtype=torch.float32)
        for weight, p, t in zip(self.layer_weights, pred_features, target_features):
            total = total + weight * (at_least_fp32(p) - at_least_fp32(t)).abs().mean()
        return total

    def extra_repr(self) -> str:
        return f"network={self.network!r}, layers={self.layers}"
