"""Reading and writing images robustly, and converting them to and from tensors.

Every image enters the toolkit through `read_image` so that the rest of the code can assume one
shape of data: uint8, HxWxC, RGB order, C in {1, 3}, EXIF orientation already applied. Tensors are
float32 CxHxW in [-1, 1] (`to_tensor` / `to_image`).

Decoding uses OpenCV with IMREAD_UNCHANGED so that alpha and 16-bit depth survive long enough to be
handled properly (composited over white, scaled rather than clipped). IMREAD_UNCHANGED is also the
one OpenCV mode that ignores EXIF orientation, so orientation is read from the header separately
(with Pillow, which only parses the header here) and applied by `_apply_orientation`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import torch

from translate.errors import DataError, InputNotFoundError, TranslateError
from translate.fileio import atomic_write_bytes
from translate.pixels import from_unit, to_unit

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

_EXIF_ORIENTATION_TAG = 0x0112

# Largest image read by default (`apply --max-pixels`): 100 megapixels, above any camera's photo,
# is 1.2 GB as a float32 RGB tensor. The size comes from the header, so a decompression bomb
# (a 40000x40000 PNG is 4.7 MB on disk, 4.8 GB decoded) is refused before anything is allocated.
MAX_PIXELS = 100_000_000


class ImageReadError(TranslateError, ValueError):
    """An image file could not be decoded. `str()` is one line: "PATH: reason"."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # keep the message on one line
        super().__init__(f"{self.path}: {self.reason}")


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files in `folder` (by extension, case-insensitive), sorted for a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"image folder not found: {folder}")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if p.is_file() and is_image_file(p))


# --- reading -------------------------------------------------------------------------------------


def _jpeg_is_truncated(data: bytes) -> bool:
    # libjpeg decodes a truncated JPEG "successfully" (grey fill plus a warning on stderr), so look
    # for the end-of-image marker after the last start-of-scan. Entropy-coded data byte-stuffs 0xFF,
    # so FFD9 cannot occur there by accident; an EXIF thumbnail's EOI sits before the main scan.
    last_scan = data.rfind(b"\xff\xda")
    return last_scan < 0 or data.find(b"\xff\xd9", last_scan) < 0


def _exif_orientation(data: bytes) -> int:
    """EXIF orientation (1..8) from the file header; 1 when absent or unreadable."""
    try:
        from PIL import Image  # header only: Image.open does not decode pixels

        with Image.open(io.BytesIO(data)) as im:
            value = int(im.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # no Pillow, or a header Pillow cannot parse: OpenCV already decoded it
        return 1
    return value if 1 <= value <= 8 else 1


# EXIF orientation -> operations that bring the stored pixels upright (see the EXIF 2.3 spec).
_ORIENTATION_FIXES = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, k=1),
}


def _apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    return np.ascontiguousarray(_ORIENTATION_FIXES[orientation](img))


def _to_unit_float(img: np.ndarray) -> np.ndarray:
    """uint8 / uint16 -> float32 in [0, 1]; other depths are not images we expect to train on."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    raise ValueError(f"unsupported pixel type {img.dtype}")


def _normalise_pixels(decoded: np.ndarray) -> np.ndarray:
    """OpenCV's BGR/BGRA/grey of any supported depth -> uint8 RGB (3 channels) or grey (1)."""
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    channels = decoded.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"unsupported channel count {channels}")
    if decoded.dtype == np.uint8 and channels != 4:
        img = decoded
    else:
        unit = _to_unit_float(decoded)
        if channels == 4:
            # Composite over white: transparent regions of logos and cut-outs are meant to be
            # seen on a light page, and black (what dropping alpha gives) invents dark shapes.
            alpha = unit[:, :, 3:4]
            unit = unit[:, :, :3] * alpha + (1.0 - alpha)
        img = np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)
    if img.shape[2] == 3:
        img = img[:, :, ::-1]  # BGR -> RGB
    return img


def convert_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """uint8 HxWx{1,3} RGB -> `channels` (1 or 3): grey is replicated, colour converted to luma."""
    if img.shape[2] == channels:
        return img
    if channels == 3:
        return np.repeat(img, 3, axis=2)
    return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)[:, :, None]


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header only, or None when Pillow cannot parse the header."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception as exc:
        # Pillow refuses headers over its own bomb limit; its message carries the pixel count.
        import re

        found = re.search(r"\((\d+) pixels\)", str(exc)) if type(exc).__name__ == "DecompressionBombError" else None
        if found:
            return int(found.group(1)), 1
        return None


def _check_pixels(path: Path, data: bytes, max_pixels: int | None) -> None:
    """The size gate every image passes before it is decoded. A header Pillow cannot size is
    refused rather than decoded blind: OpenCV also decodes formats (Radiance HDR, PAM, PFM) whose
    size nothing here reads first, and a 9 MB HDR decodes to 4 GB."""
    size = image_size(data)
    if size is None:
        raise ImageReadError(path, "not an image this tool reads (its header gives no size; expected "
                                   f"{', '.join(sorted(e.lstrip('.') for e in IMAGE_EXTENSIONS))})")
    if max_pixels is not None and max_pixels < 1:
        raise ImageReadError(path, f"the pixel limit must be at least 1, got {max_pixels}")
    if max_pixels and size[0] * size[1] > max_pixels:
        shown = f"{size[0]}x{size[1]} = " if size[1] > 1 else ""
        raise ImageReadError(path, f"too large: {shown}{size[0] * size[1]:,} pixels, over the limit of "
                                   f"{max_pixels:,} (--max-pixels)")


def read_image(path: str | os.PathLike, channels: int = 3, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Read an image file as uint8 HxWxC in RGB order (C = `channels`, 1 or 3).

    Handles JPEG, PNG (8/16-bit; 16-bit is scaled, not clipped), grey, palette, BMP, TIFF, WebP.
    RGBA is composited over white. EXIF orientation is applied. Anything that cannot be decoded
    (missing, empty, corrupt, truncated) raises `ImageReadError` naming the file, as does an image
    of more than `max_pixels` pixels (checked from the header, before decoding; None: no limit).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, exc.strerror or type(exc).__name__) from exc
    if not data:
        raise ImageReadError(path, "file is empty")
    if data[:3] == b"\xff\xd8\xff" and _jpeg_is_truncated(data):
        raise ImageReadError(path, "truncated JPEG (no end-of-image marker)")
    _check_pixels(path, data, max_pixels)

    try:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. over OpenCV's own CV_IO_MAX_IMAGE_PIXELS
        raise ImageReadError(path, f"OpenCV cannot decode it ({str(exc).strip().splitlines()[-1]})") from None
    if decoded is None or decoded.size == 0:
        raise ImageReadError(path, "not a decodable image (corrupt, truncated or unsupported)")
    try:
        img = _normalise_pixels(decoded)
    except ValueError as exc:
        raise ImageReadError(path, str(exc)) from exc
    img = _apply_orientation(img, _exif_orientation(data))
    return convert_channels(img, channels)


# --- writing -------------------------------------------------------------------------------------


def write_image(path: str | os.PathLike, array: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Write uint8 HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) atomically; the extension picks the format.

    The file is encoded in memory and written with ``translate.fileio.atomic_write_bytes``, so a
    reader (or a crash) never sees a half-written image.
    """
    path = Path(path)
    if not is_image_file(path):
        raise DataError(f"{path}: unknown image extension (expected one of {sorted(IMAGE_EXTENSIONS)})")
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_image expects uint8, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] == 3:
        array = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2BGR)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGBA2BGRA)
    elif array.ndim != 2:
        raise ValueError(f"write_image expects HxW, HxWx1, HxWx3 or HxWx4, got shape {array.shape}")

    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(path.suffix.lower(), array, params)
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode this image")

    atomic_write_bytes(path, encoded.tobytes())
    return path


# --- tensors -------------------------------------------------------------------------------------


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 HxWxC (or HxW) -> float32 CxHxW in [-1, 1]."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise TypeError(f"to_tensor expects uint8, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise ValueError(f"to_tensor expects HxWxC, got shape {img.shape}")
    return to_unit(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))))


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """float CxHxW in [-1, 1] -> uint8 HxWxC (values outside the range are clamped, then rounded)."""
    if tensor.ndim != 3:
        raise ValueError(f"to_image expects CxHxW, got shape {tuple(tensor.shape)}")
    return from_unit(tensor.detach().cpu()).permute(1, 2, 0).contiguous().numpy()


def resize_long_side(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = size / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.resize(image, new, interpolation=interp)
    return out[..., None] if out.ndim == 2 else out
