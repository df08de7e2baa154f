"""What the server accepts from a browser, and the one folder it serves files from.

Every upload is checked here before any model sees it: its size on disk, that it decodes as
what it claims to be (an image, or a video with a video stream), and, for an image, its pixel
count. Images are decoded only by ``translate.data.read_image`` with the server's pixel limit:
it sizes the header before decoding and refuses a header it cannot size (a small PNG can declare
a gigapixel canvas; a 9 MB Radiance HDR decodes to gigabytes). A failed check raises
``UploadError`` with one line for the page; the server keeps running.

Results are written only into ``OutputFolder``: a fresh temporary directory per server whose
file names are made here (random, never taken from a request), removed when the server stops
and pruned of old files while it runs.
"""
from __future__ import annotations

import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

import numpy as np

from translate.errors import TranslateError

MB = 1024 * 1024


class UploadError(TranslateError, ValueError):
    """An upload the server refuses: the message is shown on the page as it is."""


@dataclass(frozen=True)
class UploadLimits:
    max_mb: float = 100.0  # one file, image or video
    max_pixels: int = 40_000_000  # 40 MP: above any phone photo, below what would exhaust memory
    max_video_seconds: float = 600.0
    max_video_frames: int = 36_000  # ten minutes at 60 fps; also enforced while decoding (headers can lie)
    max_fps: float = 240.0  # a container declaring 10000 fps is a crafted file, not a camera
    max_files: int = 32  # images in one request
    max_side: int = 4096  # the largest long side a request may ask the model for (--size)


def _name(path: Path) -> str:
    # Gradio stores uploads under a random folder with the browser's file name: show only the name.
    return Path(path).name


def check_size(path: Path, limits: UploadLimits) -> None:
    try:
        size = Path(path).stat().st_size
    except OSError:
        raise UploadError(f"{_name(path)}: the upload did not arrive (try again)") from None
    if size == 0:
        raise UploadError(f"{_name(path)}: the file is empty")
    if size > limits.max_mb * MB:
        raise UploadError(f"{_name(path)}: {size / MB:.1f} MB is over the {limits.max_mb:g} MB upload limit")


def check_image(path: Path, limits: UploadLimits) -> np.ndarray:
    """The upload as RGB uint8 HxWx3, or ``UploadError`` saying why not.

    ``read_image`` is the only decoder and the gate: it sizes the header before decoding and
    refuses what it cannot size or what is over ``max_pixels``, so nothing here parses headers."""
    from translate.data import ImageReadError, read_image

    path = Path(path)
    check_size(path, limits)
    try:
        return read_image(path, channels=3, max_pixels=limits.max_pixels)
    except ImageReadError as exc:  # its reason is one line; the name, not the server's temp path
        raise UploadError(f"{_name(path)}: {exc.reason}") from None


def check_array(image: Optional[np.ndarray], limits: UploadLimits) -> np.ndarray:
    """A webcam frame or other in-memory image: RGB uint8 HxWx3 within the pixel limit."""
    if image is None:
        raise UploadError("no image: upload one or take a webcam picture first")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise UploadError("the picture is not an 8-bit image")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        image = image[:, :, :3]
    if image.shape[0] * image.shape[1] > limits.max_pixels:
        raise UploadError(f"the picture is over the {limits.max_pixels / 1e6:g} megapixel limit")
    return np.ascontiguousarray(image)


def check_video(path: Path, limits: UploadLimits):
    """The upload's ``VideoInfo`` when it is a video within the limits, else ``UploadError``."""
    from translate.video.io import VideoError, probe

    path = Path(path)
    check_size(path, limits)
    if _is_still_image(path):  # FFmpeg would open a PNG as a one-frame "video": say what it is instead
        raise UploadError(f"{_name(path)}: is an image, not a video (use the Images tab)")
    try:
        info = probe(path)
    except VideoError:
        raise UploadError(f"{_name(path)}: not a video this server can read (no video stream, or a corrupt "
                          f"file); try an MP4, MOV, MKV or WebM") from None
    except Exception as exc:  # noqa: BLE001  (FFmpeg's own errors for arbitrary bytes: still a bad upload)
        raise UploadError(f"{_name(path)}: not a readable video ({type(exc).__name__})") from None
    if info.width * info.height > limits.max_pixels:
        raise UploadError(f"{_name(path)}: {info.width}x{info.height} frames are over the pixel limit")
    if info.duration and info.duration > limits.max_video_seconds:
        raise UploadError(f"{_name(path)}: {info.duration:.0f} s is longer than the "
                          f"{limits.max_video_seconds:g} s limit")
    if float(info.fps) > limits.max_fps:
        raise UploadError(f"{_name(path)}: {float(info.fps):g} frames per second is over the "
                          f"{limits.max_fps:g} fps limit")
    if info.expected_frames > limits.max_video_frames:
        raise UploadError(f"{_name(path)}: {info.expected_frames} frames is over the "
                          f"{limits.max_video_frames} frame limit")
    return info


def _is_still_image(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return not getattr(image, "is_animated", False)
    except Exception:  # noqa: BLE001  (anything PIL cannot open is not a still image)
        return False


class OutputFolder:
    """The only place results are written to and served from.

    Names are random and made here, so nothing a request sends becomes part of a path;
    ``resolve`` accepts only names this folder handed out.
    """

    def __init__(self, root: Optional[Path] = None, max_age_s: float = 3600.0):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="translate-serve-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_age_s = max_age_s
        self._issued: set = set()

    def new(self, suffix: str, stem: str = "") -> Path:
        """A fresh path in the folder; ``stem`` (a user's file name) is reduced to safe characters."""
        safe = "".join(c for c in stem if c.isalnum() or c in "-_")[:40]
        name = f"{safe + '_' if safe else ''}{uuid.uuid4().hex[:12]}{suffix}"
        self._issued.add(name)
        self.prune()
        return self.root / name

    def resolve(self, name: str) -> Path:
        """The file for a name this folder issued; anything else (a path, '..', a guess) is refused."""
        if name not in self._issued or Path(name).name != name:
            raise UploadError("no such result (it may have been cleaned up; run the model again)")
        return self.root / name

    def zip(self, files: Iterable[Path], stem: str = "results") -> Path:
        target = self.new(".zip", stem)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, arcname=Path(path).name)
        return target

    def prune(self, now: Optional[float] = None) -> List[Path]:
        """Remove results older than ``max_age_s`` so a long-running server does not fill the disk."""
        now = time.time() if now is None else now
        removed = []
        for path in list(self.root.iterdir()):
            try:
                if path.is_file() and now - path.stat().st_mtime > self.max_age_s:
                    path.unlink()
                    self._issued.discard(path.name)
                    removed.append(path)
            except FileNotFoundError:  # removed by another request's prune meanwhile
                continue
        return removed

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._issued.clear()
