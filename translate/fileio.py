"""Atomic file writes: a reader (or a re-run after a crash) never sees half a file.

Everything the toolkit writes, checkpoints, configs and translated images, goes
through ``atomic_path``: write to a hidden temporary file in the destination's
own directory (so the final ``os.replace`` is a same-filesystem rename, which is
atomic on POSIX and Windows), then rename over the destination.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_path(destination: PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``destination`` only on success.

    The temporary name keeps the destination's suffix so libraries that pick a
    format from the extension (OpenCV, PyAV, safetensors) still do the right thing.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{destination.stem}.", suffix=f".tmp{destination.suffix}", dir=destination.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes 0600 files; give the result the permissions a plain open() would.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, destination)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(destination: PathLike, data: bytes) -> None:
    with atomic_path(destination) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(destination: PathLike, text: str) -> None:
    atomic_write_bytes(destination, text.encode("utf-8"))
