"""Putting a translated face crop back into its frame so that only the face changes.

Steps (``paste_face``): warp the crop and its mask back with the inverse alignment
transform; match the crop's colours to the frame under the mask (``COLOR_MATCHERS``);
shrink and feather the mask (``erode`` / ``feather``); then blend with the mask as
alpha, or with OpenCV's Poisson ``seamlessClone``. Only pixels where the warped alpha
is non-zero are written: everything else is the input frame, bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

import cv2
import numpy as np

from translate.errors import InvalidSettingError


def _mean_stats(x: np.ndarray, weight: np.ndarray):
    """Per-channel mean and std of ``x`` where the mask is mostly on (OpenCV's C loop: fast at 4K)."""
    region = (weight > 0.5).astype(np.uint8)
    if not region.any():
        region = (weight > 0).astype(np.uint8)
    mean, std = cv2.meanStdDev(x, mask=region)
    return mean.reshape(-1).astype(np.float32), std.reshape(-1).astype(np.float32) + 1e-3


def _none(crop: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return crop


def _mean(crop: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Shift each RGB channel so the masked means agree."""
    mc, _ = _mean_stats(crop, weight)
    mt, _ = _mean_stats(target, weight)
    shift = np.round(mt - mc).astype(np.int16)
    return np.clip(crop.astype(np.int16) + shift, 0, 255).astype(np.uint8)


def _lab(crop: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Reinhard transfer: match mean and standard deviation per channel in Lab."""
    c = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB)
    mc, sc = _mean_stats(c, weight)
    mt, st = _mean_stats(cv2.cvtColor(target, cv2.COLOR_RGB2LAB), weight)
    out = (c.astype(np.float32) - mc) * (st / sc) + mt
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _histogram(crop: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-channel histogram matching over the masked pixels."""
    sel = weight > 0.5
    if sel.sum() < 16:
        return crop
    out = crop.copy()
    for ch in range(3):
        src, ref = crop[..., ch][sel], target[..., ch][sel]
        s_cdf = np.cumsum(np.bincount(src, minlength=256)) / src.size
        r_cdf = np.cumsum(np.bincount(ref, minlength=256)) / ref.size
        lut = np.clip(np.searchsorted(r_cdf, s_cdf), 0, 255).astype(np.uint8)
        out[..., ch] = lut[crop[..., ch]]
    return out


COLOR_MATCHERS: Dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "none": _none, "mean": _mean, "lab": _lab, "histogram": _histogram,
}


def _blend_alpha(frame: np.ndarray, warped: np.ndarray, alpha: np.ndarray, box) -> np.ndarray:
    """Alpha-blend ``warped`` (the box region) into a copy of ``frame``; only alpha > 0 pixels change."""
    x0, y0, x1, y1 = box
    region = frame[y0:y1, x0:x1].astype(np.float32)
    a = alpha[..., None]
    mixed = np.round(a * warped.astype(np.float32) + (1 - a) * region).astype(np.uint8)
    out = frame.copy()
    view = out[y0:y1, x0:x1]
    inside = alpha > 0
    view[inside] = mixed[inside]
    return out


def _blend_poisson(frame: np.ndarray, warped: np.ndarray, alpha: np.ndarray, box) -> np.ndarray:
    """Poisson (gradient-domain) clone of the box region, then alpha-limited so nothing outside changes."""
    x0, y0, x1, y1 = box
    hard = (alpha > 0.5).astype(np.uint8) * 255
    h, w = frame.shape[:2]
    if hard.sum() == 0 or x0 < 1 or y0 < 1 or x1 > w - 1 or y1 > h - 1:
        return _blend_alpha(frame, warped, alpha, box)  # seamlessClone needs the region inside the frame
    source = frame.copy()
    source[y0:y1, x0:x1] = warped
    full = np.zeros((h, w), np.uint8)
    full[y0:y1, x0:x1] = hard
    ys, xs = np.nonzero(full)
    # seamlessClone centres the mask's bounding box at ``center``.
    center = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    try:
        cloned = cv2.seamlessClone(source, np.ascontiguousarray(frame), full, center, cv2.NORMAL_CLONE)
    except cv2.error:
        return _blend_alpha(frame, warped, alpha, box)
    return _blend_alpha(frame, cloned[y0:y1, x0:x1], alpha, box)


BLENDERS = {"feather": _blend_alpha, "poisson": _blend_poisson}


@dataclass(frozen=True)
class BlendOptions:
    color: str = "lab"  # none | mean | lab | histogram
    mode: str = "feather"  # feather | poisson
    erode: float = 0.04  # shrink the mask by this fraction of the crop size before feathering
    feather: float = 0.06  # blur of the mask edge, fraction of the crop size

    def __post_init__(self) -> None:
        if self.color not in COLOR_MATCHERS:
            raise InvalidSettingError(f"unknown colour matching {self.color!r}; choose {', '.join(COLOR_MATCHERS)}")
        if self.mode not in BLENDERS:
            raise InvalidSettingError(f"unknown blend mode {self.mode!r}; choose {', '.join(BLENDERS)}")


def crop_alpha(mask: np.ndarray, options: BlendOptions) -> np.ndarray:
    """The crop-space alpha: the face mask eroded then feathered (float32 in [0, 1])."""
    size = mask.shape[0]
    alpha = mask.astype(np.float32)
    k = int(round(options.erode * size))
    if k > 0:
        alpha = cv2.erode(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    if options.feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.5, options.feather * size / 2))
    alpha[alpha < 1.0 / 255] = 0.0  # a blur's far tail would touch (and round) pixels far away
    return alpha


def paste_face(frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray,
               options: BlendOptions = BlendOptions()) -> np.ndarray:
    """``frame`` with ``crop`` (aligned by the image->crop ``matrix``) blended back under ``mask``."""
    h, w = frame.shape[:2]
    inverse = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
    # The crop's footprint in the frame bounds all the work, so big frames cost little more.
    size = crop.shape[0]
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64) @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return frame.copy()
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    bw, bh = int(x1 - x0), int(y1 - y0)
    alpha = cv2.warpAffine(crop_alpha(mask, options), shifted, (bw, bh), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha[alpha < 1.0 / 255] = 0.0
    if not alpha.any():
        return frame.copy()
    warped = cv2.warpAffine(crop, shifted, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    box = (int(x0), int(y0), int(x1), int(y1))
    warped = COLOR_MATCHERS[options.color](warped, frame[y0:y1, x0:x1], alpha)
    return BLENDERS[options.mode](frame, warped, alpha, box)
