"""CoGAN's coupled networks (Liu & Tuzel 2016), the encoder, and the latent-inversion translator.

Coupled generator: one noise vector ``z`` feeds a trunk of transposed convolutions that is
SHARED by both domains (it decodes the high-level semantics, so the two outputs correspond),
followed by ``private_layers`` domain-specific layers that render each domain's low-level
look. Coupled discriminator: the mirror image, ``private_layers`` domain-specific first
layers (low-level features) and a shared rest. Sharing is structural: the trunk is one
module, registered once, used by both branches, so its parameters are the same objects for
both domains (and a state dict holds them once, which safetensors requires).

Layouts (DCGAN-style, for a ``size = 4 * 2**k`` square; 32 to 128 px in the paper):

* generator: ``z -> ConvT 4x4 (valid) -> 4x4``, then ``k`` stride-2 4x4 ConvTs doubling the
  side, the last one to the domain's channels with tanh; batch norm + ReLU elsewhere. Widths
  ``ngf * min(2**j, 8)``, halving towards the image.
* discriminator: ``k`` stride-2 4x4 convs (LeakyReLU 0.2, batch norm but on the first), then
  a 4x4 valid conv to one logit.
* encoder (optional, for inversion): the discriminator's layout ending in ``latent_dim``
  outputs; trained alongside to regress ``z`` from ``G_A(z)``, it gives inversion a start.

``CoGANInverter`` makes a coupled generator usable by ``translate apply``: for an image x of
the source domain it searches ``z* = argmin_z mean (G_src(z) - x)^2`` with Adam from
``restarts`` starts (the encoder's guess, then N(0, I) draws) and returns ``G_dst(z*)``.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.contract import Generator
from translate.nets.layers import conv_bias, norm_layer
from translate.registry import GENERATORS

DOMAINS = ("A", "B")


def upsamplings_for(size: int) -> int:
    """Stride-2 steps between the 4x4 seed and a ``size`` square (64 -> 4)."""
    steps = math.log2(size / 4) if size > 0 else -1
    if steps < 1 or not float(steps).is_integer():
        raise InvalidSettingError(f"CoGAN image size must be a power of two >= 8, got {size}")
    return int(steps)


def _width(base: int, level: int) -> int:
    return base * min(2**level, 8)


def _check_private(private_layers: int, total: int, what: str) -> None:
    # At least one private layer (else the domains are identical) and one shared (else no coupling).
    if not 1 <= private_layers < total:
        raise InvalidSettingError(f"{what}: private_layers must be between 1 and {total - 1} at this size; got {private_layers}")


class CoupledGenerator(nn.Module):
    """Two generators from one ``z``: shared first (high-level) layers, private last layers."""

    def __init__(self, latent_dim: int = 100, size: int = 64, ngf: int = 64, channels_a: int = 3,
                 channels_b: int = 3, norm: str = "batch", private_layers: int = 1):
        super().__init__()
        k = upsamplings_for(size)
        _check_private(private_layers, k + 1, "coupled generator")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.latent_dim, self.size = latent_dim, size
        self.channels = {"A": channels_a, "B": channels_b}

        def layer(i: int, out_channels: Optional[int]) -> nn.Module:
            # Layer i of k + 1: i = 0 is the 4x4 seed, i = k the image. Widths halve upwards.
            in_width = latent_dim if i == 0 else _width(ngf, k - i)
            if out_channels is not None:  # the image layer
                return nn.Sequential(nn.ConvTranspose2d(in_width, out_channels, 4, 2, 1), nn.Tanh())
            width = _width(ngf, k - 1 - i)
            stride, pad = (1, 0) if i == 0 else (2, 1)
            return nn.Sequential(nn.ConvTranspose2d(in_width, width, 4, stride, pad, bias=bias), make_norm(width), nn.ReLU())

        first_private = k + 1 - private_layers
        self.shared = nn.Sequential(*(layer(i, None) for i in range(first_private)))
        self.private = nn.ModuleDict({
            d: nn.Sequential(*(layer(i, self.channels[d] if i == k else None) for i in range(first_private, k + 1)))
            for d in DOMAINS
        })

    def trunk(self, z: torch.Tensor) -> torch.Tensor:
        return self.shared(z.reshape(z.shape[0], self.latent_dim, 1, 1))

    def generate(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        """``N x latent_dim`` -> ``N x C_domain x size x size`` in [-1, 1]."""
        return self.private[domain](self.trunk(z))

    def forward(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(z)  # computed once: both images come from the same high-level code
        return self.private["A"](h), self.private["B"](h)

    def branch(self, domain: str) -> nn.Sequential:
        """Domain ``domain``'s generator as its own module; its shared layers ARE the trunk's."""
        return nn.Sequential(nn.Unflatten(1, (self.latent_dim, 1, 1)), self.shared, self.private[domain])


class CoupledDiscriminator(nn.Module):
    """Two discriminators: private first (low-level) layers, shared last layers; logits, no sigmoid."""

    num_scales = 1

    def __init__(self, size: int = 64, ndf: int = 64, channels_a: int = 3, channels_b: int = 3,
                 norm: str = "batch", private_layers: int = 1):
        super().__init__()
        k = upsamplings_for(size)
        _check_private(private_layers, k + 1, "coupled discriminator")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        channels = {"A": channels_a, "B": channels_b}

        def layer(i: int, in_channels: int) -> nn.Module:
            if i == k:  # 4x4 -> one logit
                return nn.Conv2d(_width(ndf, k - 1), 1, 4, 1, 0)
            width = _width(ndf, i)
            if i == 0:  # sees the image: no norm
                return nn.Sequential(nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2))
            return nn.Sequential(nn.Conv2d(_width(ndf, i - 1), width, 4, 2, 1, bias=bias), make_norm(width),
                                 nn.LeakyReLU(0.2))

        self.private = nn.ModuleDict({
            d: nn.Sequential(*(layer(i, channels[d]) for i in range(private_layers))) for d in DOMAINS
        })
        self.shared = nn.Sequential(*(layer(i, 0) for i in range(private_layers, k + 1)))

    def forward(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        return self.shared(self.private[domain](x))

    def branch(self, domain: str) -> nn.Sequential:
        """Domain ``domain``'s discriminator as its own module; its last layers ARE the shared ones."""
        return nn.Sequential(self.private[domain], self.shared)


class LatentEncoder(nn.Module):
    """Image -> z guess: stride-2 convs down to 4x4, then a 4x4 valid conv to ``latent_dim``."""

    def __init__(self, in_channels: int = 3, latent_dim: int = 100, size: int = 64, nef: int = 32,
                 norm: str = "batch"):
        super().__init__()
        k = upsamplings_for(size)
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: List[nn.Module] = []
        prev = in_channels
        for i in range(k):
            width = _width(nef, i)
            layers += [nn.Conv2d(prev, width, 4, 2, 1, bias=bias or i == 0)]
            layers += [make_norm(width)] if i else []
            layers += [nn.LeakyReLU(0.2)]
            prev = width
        layers += [nn.Conv2d(prev, latent_dim, 4, 1, 0), nn.Flatten()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _resize(x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
    x = x.float()  # antialiased resizing has no bf16 kernel; images are float32 for apply anyway
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    # antialias: shrinking a photo to the model's size should average, not alias.
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=True)


class CoGANInverter(Generator):
    """``forward(x_src) = G_dst(z*)``, ``z* = argmin_z mean (G_src(z) - x_src)^2`` (Adam, restarts).

    Images of any size are resized to the model's square for the search and the output is
    resized back, so ``size_multiple`` is 1. ``iterations``, ``restarts``, ``lr`` and ``seed``
    are plain attributes (saved in the checkpoint's spec kwargs). Call ``eval()`` first: in
    training mode batch norm would couple the restarts through batch statistics.
    """

    size_multiple = 1
    supports_sampling = True  # ``sample(z)``: corresponding A and B images from noise

    def __init__(self, generator: CoupledGenerator, encoder: Optional[nn.Module] = None, source: str = "A",
                 iterations: int = 100, restarts: int = 4, lr: float = 0.05, seed: int = 0):
        super().__init__()
        if source not in DOMAINS:
            raise InvalidSettingError(f"source must be A or B, got {source!r}")
        if iterations < 0 or restarts < 1:
            raise InvalidSettingError(f"inversion needs iterations >= 0 and restarts >= 1; got {iterations}, {restarts}")
        self.generator, self.encoder = generator, encoder
        self.source, self.target = source, "B" if source == "A" else "A"
        self.in_channels, self.out_channels = generator.channels[self.source], generator.channels[self.target]
        self.iterations, self.restarts, self.lr, self.seed = iterations, restarts, lr, seed

    def _starts(self, x: torch.Tensor) -> torch.Tensor:
        """``restarts * N`` initial codes: the encoder's guess first (if any), then seeded N(0, I)."""
        n, latent = x.shape[0], self.generator.latent_dim
        starts = []
        if self.encoder is not None:
            with torch.no_grad():
                starts.append(self.encoder(x).float())
        draws = self.restarts - len(starts)
        if draws:
            # A private generator: apply is repeatable and training's global RNG is untouched.
            rng = torch.Generator(device=x.device).manual_seed(self.seed)
            # The same codes for every image of the batch, so an image's result does not depend on
            # the batch it came in (apply --batch-size 1 and 4 agree).
            codes = torch.randn(draws, 1, latent, generator=rng, device=x.device)
            starts.append(codes.expand(draws, n, latent).reshape(draws * n, latent))
        return torch.cat(starts)

    def _errors(self, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        recon = self.generator.generate(z, self.source).float()
        return (recon - target).pow(2).flatten(1).mean(1)

    def invert(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Best code per image and its reconstruction MSE; ``x`` is ``N x C x size x size``."""
        n = x.shape[0]
        target = x.float().repeat(self.restarts, 1, 1, 1)  # restart r of image i is row r * N + i
        z = self._starts(x).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=self.lr)
        best_z, best_err = z.detach().clone(), torch.full((z.shape[0],), float("inf"), device=x.device)
        for step in range(self.iterations + 1):
            errors = self._errors(z, target)
            with torch.no_grad():  # keep each row's best code, in case Adam overshoots late
                better = errors < best_err
                best_err = torch.where(better, errors, best_err)
                best_z[better] = z[better]
            if step == self.iterations:
                break
            # autograd.grad, not backward: only z needs a gradient, never the weights.
            (z.grad,) = torch.autograd.grad(errors.sum(), [z])
            opt.step()
        winner = best_err.view(self.restarts, n).argmin(0)  # per image, its best restart
        rows = winner * n + torch.arange(n, device=x.device)
        return best_z[rows], best_err[rows]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # apply runs under inference_mode; the search needs autograd, and a normal-tensor copy of x.
        with torch.inference_mode(False), torch.enable_grad():
            x = x.clone()
            hw = x.shape[-2:]
            z, _ = self.invert(_resize(x, (self.generator.size, self.generator.size)))
            with torch.no_grad():
                y = self.generator.generate(z, self.target)
            return _resize(y, hw)

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Corresponding (A, B) images for codes ``z``."""
        return self.generator(z)


def coupled_parts(in_channels: int, out_channels: int, source: str, latent_dim: int, size: int, ngf: int,
                  norm: str, private_layers: int, encoder: bool, nef: int
                  ) -> Tuple[CoupledGenerator, Optional[LatentEncoder]]:
    channels_a, channels_b = (in_channels, out_channels) if source == "A" else (out_channels, in_channels)
    generator = CoupledGenerator(latent_dim, size, ngf, channels_a, channels_b, norm, private_layers)
    return generator, LatentEncoder(in_channels, latent_dim, size, nef, norm) if encoder else None


@GENERATORS.register("cogan_inverter")
def cogan_inverter(in_channels: int = 3, out_channels: int = 3, latent_dim: int = 100, size: int = 64,
                   ngf: int = 64, norm: str = "batch", private_layers: int = 1, encoder: bool = True,
                   nef: int = 32, source: str = "A", iterations: int = 100, restarts: int = 4,
                   lr: float = 0.05, seed: int = 0, **kwargs) -> CoGANInverter:
    """CoGAN as a translator: find z whose source image matches the input (Adam, restarts), output the other domain's image.

    ``in_channels`` are the source domain's, ``out_channels`` the target's.
    """
    generator, enc = coupled_parts(in_channels, out_channels, source, latent_dim, size, ngf, norm,
                                   private_layers, encoder, nef)
    return CoGANInverter(generator, enc, source, iterations, restarts, lr, seed)

