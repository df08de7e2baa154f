"""Albumentations pipelines shared by both images of a pair (and an optional mask).

The preprocessing modes are those of pytorch-CycleGAN-and-pix2pix (`--preprocess`), so published
recipes carry over. One `Compose` transforms `image`, the additional target `image_b` and `mask`
with the same random parameters, which is what keeps the two halves of a pair aligned.

Determinism: a pipeline's randomness must depend only on (seed, epoch, index), never on call order,
worker process or global RNG state, so that a resumed run and a multi-worker DataLoader see exactly
the same crops. `apply_seeded` reseeds the Compose (albumentations >= 2 `set_random_seed`) right
before each call with a seed derived by `sample_seed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import albumentations as A
import cv2
import numpy as np
from albumentations.core.transforms_interface import DualTransform

from translate.choices import REFERENCE_CROP, REFERENCE_LOAD
from translate.errors import InvalidSettingError

# pix2pix resizes so both sides are multiples of 4 (`__make_power_2(base=4)`): enough for the
# stride-2 stacks of its generators when no crop fixes the size.
SIZE_MULTIPLE = 4


@dataclass
class PreprocessConfig:
    """How images are brought to network size (names follow pix2pix's `--preprocess`).

    mode: one of `PREPROCESS_MODES`:
      resize_and_crop      resize to load_size x load_size, then crop crop_size (random when training)
      crop                 crop crop_size only, padding images that are smaller
      scale_width          resize so width == load_size (aspect kept), sides rounded to multiples of 4
      scale_width_and_crop resize so width == load_size (height >= crop_size), then crop crop_size
      none                 keep the size, only round the sides to multiples of 4
    flip: random horizontal flip while training.
    """

    mode: str = "resize_and_crop"
    load_size: int = REFERENCE_LOAD
    crop_size: int = REFERENCE_CROP
    flip: bool = True

    def __post_init__(self) -> None:
        if self.mode not in PREPROCESS_MODES:
            raise InvalidSettingError(
                f"unknown preprocess mode {self.mode!r}; choose one of {', '.join(PREPROCESS_MODES)}"
            )
        if self.load_size < 1 or self.crop_size < 1:
            raise InvalidSettingError(
                f"load_size and crop_size must be positive, got {self.load_size} and {self.crop_size}"
            )
        if self.mode in ("resize_and_crop", "scale_width_and_crop") and self.crop_size > self.load_size:
            raise InvalidSettingError(
                f"preprocess {self.mode!r} crops after resizing, so crop_size ({self.crop_size}) "
                f"must not exceed load_size ({self.load_size})"
            )


class _ResizeTo(DualTransform):
    """Resize to a size computed from the input's (height, width); masks use nearest neighbour.

    Albumentations has no "resize by rule" transform; pix2pix's scale_width and make_power_2 are
    both rules of the input size, so they share this one.
    """

    def __init__(self, size_rule: Callable[[int, int], tuple[int, int]], p: float = 1.0):
        super().__init__(p=p)
        self.size_rule = size_rule

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        return {"out_hw": self.size_rule(height, width)}

    @staticmethod
    def _resize(img: np.ndarray, out_hw: tuple[int, int], interpolation: int) -> np.ndarray:
        if img.shape[:2] == tuple(out_hw):
            return img
        out = cv2.resize(img, (out_hw[1], out_hw[0]), interpolation=interpolation)
        return out[:, :, None] if img.ndim == 3 and out.ndim == 2 else out  # cv2 drops a 1-channel axis

    def apply(self, img: np.ndarray, out_hw: tuple[int, int] = (0, 0), **params: Any) -> np.ndarray:
        return self._resize(img, out_hw, cv2.INTER_CUBIC)

    def apply_to_mask(self, mask: np.ndarray, out_hw: tuple[int, int] = (0, 0), **params: Any) -> np.ndarray:
        return self._resize(mask, out_hw, cv2.INTER_NEAREST)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("size_rule",)


def _round_to_multiple(value: int, base: int = SIZE_MULTIPLE) -> int:
    return max(base, int(round(value / base)) * base)


def _multiple_of_4_rule(height: int, width: int) -> tuple[int, int]:
    return _round_to_multiple(height), _round_to_multiple(width)


def _scale_width_rule(target_width: int, min_height: int) -> Callable[[int, int], tuple[int, int]]:
    def rule(height: int, width: int) -> tuple[int, int]:
        return max(min_height, int(round(target_width * height / width))), target_width

    return rule


def _crop(cfg: PreprocessConfig, train: bool) -> A.BasicTransform:
    # pad_if_needed covers "crop" on images smaller than crop_size; reflection avoids black borders
    # that a generator would learn to reproduce.
    crop = A.RandomCrop if train else A.CenterCrop
    return crop(cfg.crop_size, cfg.crop_size, pad_if_needed=True, border_mode=cv2.BORDER_REFLECT_101)


def _resize_and_crop(cfg: PreprocessConfig, train: bool) -> list[A.BasicTransform]:
    return [A.Resize(cfg.load_size, cfg.load_size, interpolation=cv2.INTER_CUBIC), _crop(cfg, train)]


def _crop_only(cfg: PreprocessConfig, train: bool) -> list[A.BasicTransform]:
    return [_crop(cfg, train)]


def _scale_width(cfg: PreprocessConfig, train: bool) -> list[A.BasicTransform]:
    # Like pix2pix, the height never drops below crop_size, so a later crop always fits.
    return [
        _ResizeTo(_scale_width_rule(cfg.load_size, cfg.crop_size)),
        _ResizeTo(_multiple_of_4_rule),
    ]


def _scale_width_and_crop(cfg: PreprocessConfig, train: bool) -> list[A.BasicTransform]:
    return [_ResizeTo(_scale_width_rule(cfg.load_size, cfg.crop_size)), _crop(cfg, train)]


def _no_resize(cfg: PreprocessConfig, train: bool) -> list[A.BasicTransform]:
    return [_ResizeTo(_multiple_of_4_rule)]


PREPROCESS_MODES: dict[str, Callable[[PreprocessConfig, bool], list[A.BasicTransform]]] = {
    "resize_and_crop": _resize_and_crop,
    "crop": _crop_only,
    "scale_width": _scale_width,
    "scale_width_and_crop": _scale_width_and_crop,
    "none": _no_resize,
}


def build_transform(cfg: PreprocessConfig, train: bool) -> A.Compose:
    """The pipeline for `cfg`; call it as `t(image=a, image_b=b, mask=m)` (image_b, mask optional).

    With train=False it is deterministic: centre crop, no flip.
    """
    steps = PREPROCESS_MODES[cfg.mode](cfg, train)
    if train and cfg.flip:
        steps.append(A.HorizontalFlip(p=0.5))
    # is_check_shapes stays on: A and B of a pair must share height and width to share a crop.
    return A.Compose(steps, additional_targets={"image_b": "image"}, seed=0)


def sample_seed(seed: int, epoch: int, index: int, stream: int = 0) -> int:
    """A 32-bit seed that depends only on its arguments (SeedSequence mixes them well, so
    neighbouring indices or epochs do not get correlated streams). `stream` separates independent
    draws for the same sample, e.g. the two unrelated images of an unpaired item."""
    return int(np.random.SeedSequence([seed, epoch, index, stream]).generate_state(1)[0])


def apply_seeded(transform: A.Compose, seed: int, **targets: np.ndarray) -> dict[str, np.ndarray]:
    """Run `transform` with its random state reset to `seed`: same seed, same output, whatever ran
    before. Targets that are None are left out (albumentations rejects None)."""
    transform.set_random_seed(seed)
    return transform(**{name: value for name, value in targets.items() if value is not None})
