"""Image-quality metrics behind one registry: PSNR, SSIM, LPIPS, FID, KID and cycle PSNR.

Two kinds, because they consume different things:

* ``PairMetric``: scores each (prediction, target) pair of equal size and reports the mean over
  images (PSNR, SSIM, LPIPS). ``stream`` says which pairs: ``"translation"`` (output vs the
  paired ground truth) or ``"cycle"`` (A -> B -> A reconstruction vs the original A).
* ``SetMetric``: compares the distribution of outputs with the distribution of real target-domain
  images through a feature network (FID, KID); needs no pairing, so it works on unpaired data.

All take uint8 NCHW RGB tensors, i.e. the 0-255 images a user would save, so numbers match what
other tools report on the written files. The computations are torchmetrics' (see docs/eval.md
for why); this module only fixes the settings papers use and the reductions.

A metric is built with ``METRICS.build(name, features=FeatureNets)``; a builder whose feature
network's weights are absent raises ``MissingWeightsError`` and the evaluator skips that metric.
"""
from __future__ import annotations

import warnings
from typing import Dict, List

import torch
from torch import Tensor, nn

from translate.errors import TranslateError
from translate.eval.features import INCEPTION_FEATURES, FeatureNets
from translate.pixels import to_unit
from translate.registry import Registry

METRICS = Registry("metric")

# PSNR of identical images is infinite, which neither a mean over images nor JSON can hold.
# Per-image PSNR is capped here: 100 dB means "identical, or as good as" (one 8-bit level off in
# one pixel of a 1024x1024 RGB image is ~113 dB).
PSNR_CAP_DB = 100.0

# SSIM as Wang et al. 2004 and scikit-image's structural_similarity(gaussian_weights=True,
# sigma=1.5, use_sample_covariance=False, data_range=255): 11x11 Gaussian window, K1 0.01, K2 0.03.
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_BORDER = (SSIM_WINDOW - 1) // 2


# What each stream of pairs needs, for the message when a metric got none.
STREAM_NEEDS = {
    "translation": "needs targets paired with the outputs (paired data, or two folders)",
    "cycle": "needs both generators of a two-way model",
}


class MetricUnavailable(TranslateError, ValueError):
    """A metric that cannot give a number for this data (e.g. FID from one image); one line."""


class PairMetric:
    """Base: per-image scores of (prediction, target) pairs, reported as their mean."""

    higher_is_better = True
    stream = "translation"

    def __init__(self, features: FeatureNets):
        self.features = features
        self.scores: List[float] = []

    def score(self, pred: Tensor, target: Tensor) -> Tensor:
        """uint8 NCHW pair batch -> N scores."""
        raise NotImplementedError

    def update(self, pred: Tensor, target: Tensor) -> None:
        self.scores.extend(self.score(pred, target).detach().double().cpu().tolist())

    @property
    def images(self) -> int:
        return len(self.scores)

    def compute(self) -> Dict[str, float]:
        if not self.scores:
            raise MetricUnavailable(f"nothing to score: {STREAM_NEEDS[self.stream]}")
        return {"value": float(sum(self.scores) / len(self.scores))}


class SetMetric:
    """Base: compares output and real-image feature distributions (``network`` features)."""

    higher_is_better = False
    network = "inception"

    def __init__(self, features: FeatureNets):
        features.get(self.network)  # fail now, with the missing file's name, not after the images
        self.real: List[Tensor] = []
        self.fake: List[Tensor] = []

    def update(self, features: Tensor, real: bool) -> None:
        (self.real if real else self.fake).append(features.detach().double().cpu())

    @property
    def images(self) -> int:
        return sum(len(f) for f in self.fake)

    def _features(self) -> tuple[Tensor, Tensor]:
        real = torch.cat(self.real) if self.real else torch.empty(0, INCEPTION_FEATURES)
        fake = torch.cat(self.fake) if self.fake else torch.empty(0, INCEPTION_FEATURES)
        if len(real) < 2 or len(fake) < 2:
            raise MetricUnavailable(
                f"needs at least 2 output and 2 real images (got {len(fake)} and {len(real)})"
            )
        return real, fake

    def compute(self) -> Dict[str, float]:
        raise NotImplementedError


def _as_double(x: Tensor) -> Tensor:
    return x.to(torch.float64)


@METRICS.register("psnr")
class PSNR(PairMetric):
    """Peak signal-to-noise ratio in dB on 0-255 RGB, per image then averaged; capped at 100 dB."""

    def score(self, pred: Tensor, target: Tensor) -> Tensor:
        from torchmetrics.functional.image import peak_signal_noise_ratio

        values = peak_signal_noise_ratio(_as_double(pred), _as_double(target), data_range=255.0,
                                         reduction="none", dim=(1, 2, 3))
        return values.clamp(max=PSNR_CAP_DB)


@METRICS.register("cycle_psnr")
class CyclePSNR(PSNR):
    """PSNR of the A->B->A reconstruction against A (unpaired models with both generators)."""

    stream = "cycle"


@METRICS.register("ssim")
class SSIM(PairMetric):
    """SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, per channel, as scikit-image."""

    def score(self, pred: Tensor, target: Tensor) -> Tensor:
        from torchmetrics.functional.image import structural_similarity_index_measure

        h, w = pred.shape[-2:]
        if min(h, w) < SSIM_WINDOW:
            raise MetricUnavailable(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {w}x{h}")
        # torchmetrics averages the SSIM map over the whole (reflect-padded) image; Wang et al. and
        # scikit-image leave out the border the window does not fit in. Take the full map and drop
        # that border: the result equals scikit-image's to ~1e-15 (tests/test_eval_metrics.py).
        _, full = structural_similarity_index_measure(
            _as_double(pred), _as_double(target), gaussian_kernel=True, sigma=SSIM_SIGMA,
            kernel_size=SSIM_WINDOW, data_range=255.0, reduction="none", return_full_image=True,
        )
        b = SSIM_BORDER
        return full[..., b:-b, b:-b].mean(dim=(1, 2, 3))


class _LPIPS(PairMetric):
    higher_is_better = False
    network = "lpips_alex"

    def __init__(self, features: FeatureNets):
        super().__init__(features)
        self.net = features.get(self.network)

    @torch.no_grad()
    def score(self, pred: Tensor, target: Tensor) -> Tensor:
        device = next(self.net.parameters()).device
        x, y = to_unit(pred.to(device)), to_unit(target.to(device))
        return self.net(x, y).reshape(len(x))


@METRICS.register("lpips")
class LPIPSAlex(_LPIPS):
    """LPIPS v0.1 with AlexNet (Zhang et al. 2018), lower is closer; needs alexnet-owt-7be5be79.pth."""


@METRICS.register("lpips_vgg")
class LPIPSVgg(_LPIPS):
    """LPIPS v0.1 with VGG16, lower is closer; needs vgg16-397923af.pth."""

    network = "lpips_vgg"


class _Precomputed(nn.Module):
    """Hands already-extracted features to torchmetrics, which would otherwise run its own net."""

    num_features = INCEPTION_FEATURES

    def forward(self, x: Tensor) -> Tensor:
        return x


@METRICS.register("fid")
class FID(SetMetric):
    """Frechet Inception Distance (Heusel et al. 2017) on 2048-d pool features, lower is better."""

    def compute(self) -> Dict[str, float]:
        from torchmetrics.image.fid import FrechetInceptionDistance

        real, fake = self._features()
        fid = FrechetInceptionDistance(feature=_Precomputed())
        fid.update(real, real=True)
        fid.update(fake, real=False)
        # Tiny negative values are round-off of an exact 0 (identical sets).
        return {"value": max(0.0, float(fid.compute()))}


@METRICS.register("kid")
class KID(SetMetric):
    """Kernel Inception Distance (Binkowski et al. 2018): mean and std over 100 subsets, lower is better."""

    subsets = 100
    max_subset_size = 1000

    def compute(self) -> Dict[str, float]:
        from torchmetrics.image.kid import KernelInceptionDistance

        real, fake = self._features()
        size = min(self.max_subset_size, len(real), len(fake))
        with warnings.catch_warnings():  # "will save all extracted features": we already hold them
            warnings.simplefilter("ignore", UserWarning)
            kid = KernelInceptionDistance(feature=_Precomputed(), subsets=self.subsets, subset_size=size)
        kid.update(real, real=True)
        kid.update(fake, real=False)
        with torch.random.fork_rng(devices=[]):  # subsets are drawn at random: the same ones every time
            torch.manual_seed(0)
            mean, std = kid.compute()
        return {"value": float(mean), "std": float(std)}
