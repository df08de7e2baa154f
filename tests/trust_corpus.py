"""The bad-input corpus of issue 16, generated small: every file a user might hand to apply or train."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's header, a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(array[..., ::-1]))
    return path


def smooth(seed: int, h: int, w: int) -> np.ndarray:
    import cv2

    small = (np.random.default_rng(seed).random((5, 5, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def gif(path: Path) -> Path:
    """A two-frame animated GIF (Pillow writes it; OpenCV and this tool do not read GIFs)."""
    from PIL import Image

    frames = [Image.fromarray(smooth(i, 16, 16)) for i in range(2)]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path
