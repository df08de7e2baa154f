"""Atomic file writes, and the one rule for what the toolkit may write over.

Everything the toolkit writes, checkpoints, configs and translated images, goes
through ``atomic_path``: write to a hidden temporary file in the destination's
own directory (so the final ``os.replace`` is a same-filesystem rename, which is
atomic on POSIX and Windows), then rename over the destination.

A process killed with SIGKILL cannot remove its temporary file, so every
temporary name carries its writer's process id and a tag that proves this toolkit
made the name (a keyed hash of the pid and a random token): ``remove_stale_temporaries``
deletes only names whose tag checks and whose writer is gone. A user's own hidden
file that merely looks like a temporary (``.draft.99999.tmp.png``) is never touched,
nor is one a live process (a second ``apply`` on the same folder) is still writing.

``refuse_overwriting_input`` is the check every writer of outputs makes: an output
may never be an input file, nor land inside an input folder.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from translate.errors import TranslateError

PathLike = Union[str, "os.PathLike[str]"]


class OverwriteError(TranslateError, ValueError):
    """An output would replace an input. ``str()`` is one line naming both."""


# --- temporaries that prove their origin --------------------------------------------------------

# Not a secret: the tag only has to make an accidental match with a user's file name
# (1 in 2**32 for a name that already has the right shape) practically impossible.
_TAG_KEY = b"translate temporary v2"
_TEMPORARY = re.compile(r"^\..+?\.(\d+)-([0-9a-f]{8})-([0-9a-f]{8})\.tmp(\.[^.]*)?$")


def _tag(pid: int, token: str) -> str:
    return hashlib.blake2b(f"{pid}-{token}".encode(), key=_TAG_KEY, digest_size=4).hexdigest()


def temporary_name(destination: PathLike, pid: Optional[int] = None) -> str:
    """``.<stem>.<pid>-<token>-<tag>.tmp<suffix>``: hidden, in the destination's folder, and
    provably ours. The suffix is kept so libraries that choose a format by extension still do."""
    destination = Path(destination)
    pid = os.getpid() if pid is None else pid
    token = secrets.token_hex(4)
    return f".{destination.stem}.{pid}-{token}-{_tag(pid, token)}.tmp{destination.suffix}"


def temporary_writer(name: str) -> Optional[int]:
    """The process id that wrote the temporary ``name``, or None when this toolkit did not make it."""
    match = _TEMPORARY.match(name)
    if not match or _tag(int(match.group(1)), match.group(2)) != match.group(3):
        return None
    return int(match.group(1))


@contextlib.contextmanager
def atomic_path(destination: PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``destination`` only on success.

    The temporary name keeps the destination's suffix so libraries that pick a
    format from the extension (OpenCV, PyAV, safetensors) still do the right thing.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary(destination)
    mode = 0o666 & ~_umask()
    try:
        yield tmp
        # Again after writing: some writers (safetensors) replace the file with a 0600 one.
        os.chmod(tmp, mode)
        os.replace(tmp, destination)
    finally:
        if tmp.exists():
            tmp.unlink()


def _create_temporary(destination: Path) -> Path:
    """Create (exclusively, so never over anything) an empty temporary beside ``destination``."""
    for _ in range(100):
        tmp = destination.parent / temporary_name(destination)
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{destination.parent}: could not create a temporary file")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(destination: PathLike, data: bytes) -> None:
    with atomic_path(destination) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(destination: PathLike, text: str) -> None:
    atomic_write_bytes(destination, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: PathLike, recursive: bool = False) -> list:
    """Delete temporaries left in ``folder`` by killed writers of this toolkit; returns the removed
    paths. Only names whose tag proves they are ours are candidates: older releases' untagged
    temporaries and anything a user made are left where they are."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    candidates = folder.rglob(".*") if recursive else folder.glob(".*")
    for path in candidates:
        pid = temporary_writer(path.name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        try:
            if path.is_dir() and not path.is_symlink():  # a folder being filled before its rename
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            continue  # raced with another cleaner, or not ours to delete
    return removed


# --- outputs never replace inputs ---------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def writes_into(destination: PathLike, source: PathLike) -> bool:
    """True when writing ``destination`` would replace the input file ``source`` (the same path, a
    link to it) or put a file inside the input folder ``source``."""
    dst, src = Path(destination).resolve(), Path(source).resolve()
    if src.is_dir():
        return dst == src or src in dst.parents
    return dst == src or _same_file(Path(destination), Path(source))


def refuse_overwriting_input(destination: PathLike, sources: Iterable[PathLike]) -> None:
    """Raise ``OverwriteError`` when ``destination`` would replace or land inside any of ``sources``."""
    for source in sources:
        if writes_into(destination, source):
            what = "inside the input folder" if Path(source).is_dir() else "the input"
            raise OverwriteError(f"{destination}: the output would overwrite {what} {source}; "
                                 f"choose an output outside the input")
