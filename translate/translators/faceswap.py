"""Face-off (the face-swap recipe): CycleGAN between two people's aligned face crops.

What it changes from :mod:`translate.translators.cyclegan`, and why:

* **WGAN-GP** adversarial loss (``gan_mode="wgangp"``, penalty ``lambda_gp``): crops
  cut from unaligned video frames make the LSGAN game unstable; the critic's
  gradient penalty keeps training steady.
* **SSIM** term on each cycle reconstruction (``lambda_ssim``), besides the L1 cycle
  loss: it keeps structure (eyes, mouth) where L1 alone blurs.
* **Mask-weighted reconstruction**: the cycle and identity L1 terms are
  ``MaskedL1Loss(mask_background)`` with the face mask written by ``translate faces
  extract`` (``trainA/masks/NAME.png``), so the networks spend their capacity on the
  face, not on repainting the background that the swap never pastes back anyway.
* **U-Net** generators (``unet_128``: crops of 128 or 256) and a **5-layer
  convolutional** critic (PatchGAN with ``n_layers_d=3``: 5 convolutions) without
  normalisation, because batch statistics break the per-sample gradient penalty.
* Optionally a **second critic** per domain (``second_discriminator``), shallower
  (``n_layers_d2``), whose loss is averaged with the first by ``second_weight``:
  ``(1 - w) * D1 + w * D2``.
* No image history pool (``pool_size=0``): a Wasserstein critic estimates the
  distance to the *current* generator; stale fakes bias it.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Dict, FrozenSet, Union

import numpy as np
import torch

from translate.config import FRACTION, Rule, between
from translate.data import UnpairedDataset
from translate.data.io import ImageReadError, read_image, to_tensor
from translate.data.transforms import apply_seeded
from translate.losses import build_loss
from translate.registry import TRANSLATORS
from translate.translators.base import StepResult, make_discriminator, preprocess_config
from translate.translators.cyclegan import CycleGAN, CycleGANOptions

logger = logging.getLogger("translate.data")
MASKS_FOLDER = "masks"


@dataclass
class FaceSwapOptions(CycleGANOptions):
    generator: str = "unet_128"
    norm: str = "instance"
    gan_mode: str = "wgangp"
    lambda_gp: float = 10.0
    lambda_ssim: float = 1.0
    n_layers_d: int = 3  # 5 convolutions in all
    norm_d: str = "none"
    pool_size: int = 0
    residual: Union[bool, str] = False  # the face-swap recipe's generator outputs the face itself (not measured with it)
    mask_background: float = 0.1  # weight of pixels outside the face mask in the reconstruction terms
    second_discriminator: bool = False  # a second, shallower critic per domain, losses averaged
    n_layers_d2: int = 2  # depth of the second, shallower critic
    second_weight: float = 0.5  # w in (1 - w) * D1 + w * D2
    generator_options: Dict[str, Any] = field(default_factory=dict)

    RULES: ClassVar[Dict[str, Rule]] = {
        "mask_background": FRACTION,  # a weight relative to the face pixels' 1
        "n_layers_d2": between(1, 10),
        "second_weight": FRACTION,
    }
    ARCHITECTURE: ClassVar[FrozenSet[str]] = frozenset({"second_discriminator", "n_layers_d2"})


class FaceDataset(UnpairedDataset):
    """Unpaired face crops plus their masks: items add ``mask_A`` / ``mask_B`` (1xHxW in [0, 1]).

    A crop without a mask file (crops made by other tools) gets an all-ones mask, i.e.
    plain reconstruction; this is logged once per folder.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._warned: set = set()

    def _mask(self, image_path: Path, shape) -> np.ndarray:
        path = image_path.parent / MASKS_FOLDER / (image_path.stem + ".png")
        if not path.exists():
            if image_path.parent not in self._warned:
                self._warned.add(image_path.parent)
                logger.warning("no face masks in %s (expected %s/NAME.png from `translate faces extract`); "
                               "using full-weight masks", image_path.parent, MASKS_FOLDER)
            return np.full(shape[:2], 255, np.uint8)
        mask = read_image(path, channels=1)[..., 0]
        if mask.shape != shape[:2]:
            raise ImageReadError(path, f"mask is {mask.shape[1]}x{mask.shape[0]}, its crop {image_path.name} is "
                                       f"{shape[1]}x{shape[0]}")
        return mask

    def _load(self, index: int) -> Dict[str, Any]:
        path_a = self.paths_a[index % len(self.paths_a)]
        path_b = self.paths_b[int(self.b_order()[index])]
        item: Dict[str, Any] = {"A_path": str(path_a), "B_path": str(path_b)}
        for side, path, channels, stream in (("A", path_a, self.channels_a, 0), ("B", path_b, self.channels_b, 1)):
            image = self._read(path, channels)
            # One seeded transform for crop and mask: the same crop and flip for both.
            out = apply_seeded(self.transform, self._sample_seed(index, stream), image=image,
                               mask=self._mask(path, image.shape))
            item[side] = to_tensor(out["image"])
            item[f"mask_{side}"] = torch.from_numpy(out["mask"].astype(np.float32) / 255.0)[None]
        return item


@TRANSLATORS.register("faceswap")
class FaceSwap(CycleGAN):
    """Face-off: CycleGAN on aligned face crops with WGAN-GP, SSIM and face-mask-weighted reconstruction."""

    Options = FaceSwapOptions
    applies_diff_augment = False  # its critics (two per domain, WGAN-GP) do not go through for_discriminator
    data_kind = "unpaired"
    # What to lower on an out-of-memory error, for the training loop's message.
    memory_hint = ("lower --batch-size or --size (crops of 128 instead of 256), the widths (--set ngf=32 "
                   "--set ndf=32), or --set second_discriminator=false")

    def __init__(self, opts: FaceSwapOptions, train):
        super().__init__(opts, train)
        for spec in self.specs.values():  # CycleGAN's specs, named after this class's registration
            spec.preprocess = dict(spec.preprocess, faces=True)  # tells `translate faceswap` it fits
        self.masked = build_loss("masked_l1", background_weight=opts.mask_background)
        if opts.second_discriminator:
            shallow = dataclasses.replace(opts, n_layers_d=opts.n_layers_d2)
            self.discriminators["D_A2"] = make_discriminator(shallow, train.channels_b)
            self.discriminators["D_B2"] = make_discriminator(shallow, train.channels_a)

    @classmethod
    def build_dataset(cls, run, split: str = "train") -> FaceDataset:
        t = run.train
        pre = preprocess_config(t)
        return FaceDataset(t.data, split=split, preprocess=pre, train=True, channels_a=t.channels_a,
                           channels_b=t.channels_b, seed=t.seed)

    def _critics(self, name: str):
        """(discriminator, weight) pairs judging one domain."""
        w = self.opts.second_weight if self.opts.second_discriminator else 0.0
        pairs = [(self.discriminators[name], 1.0 - w)]
        if w:
            pairs.append((self.discriminators[name + "2"], w))
        return pairs

    def _adversarial(self, name: str, fake: torch.Tensor) -> torch.Tensor:
        return sum(weight * self.adversarial.generator_loss(d(fake)) for d, weight in self._critics(name))

    def _masked(self, pred: torch.Tensor, target: torch.Tensor, batch, domain: str) -> torch.Tensor:
        """Reconstruction weighted by the target's face mask (full weight when a crop has none)."""
        mask = batch.get(f"mask_{domain}", torch.ones_like(target[:, :1]))
        return self.masked(pred.float(), target.float(), mask)

    # CycleGAN's generator step with mask-weighted cycle and identity terms.
    _cycle_term = _masked
    _identity_term = _masked

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        logs: Dict[str, torch.Tensor] = {}
        total = 0.0
        for name, real, fake in (("D_A", batch["B"], self.pools["B"].query(fakes["fake_B"])),
                                 ("D_B", batch["A"], self.pools["A"].query(fakes["fake_A"]))):
            for i, (d, weight) in enumerate(self._critics(name)):
                loss, _ = self.adversarial.judge(d, real, fake, self.opts.lambda_gp)
                logs[name + ("2" if i else "")] = loss.detach()
                total = total + weight * loss
        return StepResult(total, logs)
