"""Atomic file writes: a reader (or a re-run after a crash) never sees half a file.

Everything the toolkit writes, checkpoints, configs and translated images, goes
through ``atomic_path``: write to a hidden temporary file in the destination's
own directory (so the final ``os.replace`` is a same-filesystem rename, which is
atomic on POSIX and Windows), then rename over the destination.

A process killed with SIGKILL cannot remove its temporary file, so every
temporary name carries its writer's process id: ``remove_stale_temporaries``
deletes those whose writer is gone, and never one a live process (a second
``apply`` on the same folder) is still writing.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
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
        prefix=f".{destination.stem}.", suffix=f".{os.getpid()}.tmp{destination.suffix}", dir=destination.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes 0600 files; give the result the permissions a plain open() would.
    mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)
    try:
        yield tmp
        # Again after writing: some writers (safetensors) replace the file with a 0600 one.
        os.chmod(tmp, mode)
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


# ".<stem>.<random>.<pid>.tmp<suffix>"; older releases wrote ".<stem>.<random>.tmp<suffix>".
_TEMPORARY = re.compile(r"^\..+?\.(?:(\d+)\.)?tmp(\.[^.]*)?$")
# A temporary without a process id is taken as abandoned once it is this old.
_ANONYMOUS_AGE_S = 3600.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: PathLike, recursive: bool = False) -> list:
    """Delete temporaries left in ``folder`` by killed writers; returns the removed paths."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    candidates = folder.rglob(".*") if recursive else folder.glob(".*")
    for path in candidates:
        match = _TEMPORARY.match(path.name)
        if not match:
            continue
        pid = match.group(1)
        try:
            if pid is not None:
                if int(pid) == os.getpid() or _alive(int(pid)):
                    continue
            elif time.time() - path.stat().st_mtime < _ANONYMOUS_AGE_S:
                continue
            if path.is_dir():  # a folder being filled before its rename (checkpoint history)
                import shutil

                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            continue  # raced with another cleaner, or not ours to delete
    return removed
