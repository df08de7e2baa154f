"""Download published weights: resumable, verified, placed atomically, converted once.

``fetch`` writes to ``<file>.part`` (a fixed name, not a random temporary one, so an
interrupted download can be resumed with an HTTP ``Range`` request), checks the size and
SHA-256 when they are known, and only then renames the part onto the final name: a file
under its final name is always complete. ``install`` turns a published ``.pth`` into a
toolkit run folder (safetensors + metadata) once; later commands never read the pickle.

Only the standard library talks HTTP, with a timeout, so a machine with no network gets
one line saying which URL failed and where to put the file by hand.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO, Callable, Optional

from tqdm import tqdm

from translate.errors import TranslateError
from translate.version import __version__
from translate.checkpoint import METADATA_FILE
from translate.interop.errors import DownloadError
from translate.interop.published import PublishedModel

CHUNK = 1 << 20
TIMEOUT_S = 30.0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _by_hand(url: str, dest: Path) -> str:
    return f"download {url} by hand and save it as {dest}, then run the command again"


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": f"translate/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _resume_offset(response, offset: int) -> int:
    """Where the response body starts: ``offset`` if the server honoured the range, else 0."""
    if offset and response.status == 206:
        m = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if m and int(m.group(1)) == offset:
            return offset
    return 0  # 200: the server sent the whole file (it ignores ranges); start over


def _copy(response, out: BinaryIO, bar: tqdm) -> None:
    for block in iter(lambda: response.read(CHUNK), b""):
        out.write(block)
        bar.update(len(block))
    out.flush()
    os.fsync(out.fileno())


def fetch(url: str, dest: Path, sha256: Optional[str] = None, size: Optional[int] = None,
          progress: bool = True, timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), verify, then rename into place."""
    dest = Path(dest)
    created = [d for d in (dest.parent, *dest.parent.parents) if not d.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _fetch(url, dest, sha256, size, progress, timeout)
    except BaseException:
        # Nothing left behind that the user did not ask for: folders this call created stay only
        # if they hold something (a resumable .part file).
        for folder in created:
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _fetch(url: str, dest: Path, sha256: Optional[str], size: Optional[int], progress: bool,
           timeout: float) -> Path:
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if not (size and offset == size):
        try:
            response = _open(url, offset, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # nothing left past our offset: the part is complete
                response = None
            else:
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}; {_by_hand(url, dest)}") from None
        except (urllib.error.URLError, socket.timeout, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"cannot download {url} ({reason}); no network? {_by_hand(url, dest)}") from None
        if response is not None:
            with response:
                start = _resume_offset(response, offset)
                length = response.headers.get("Content-Length")
                total = start + int(length) if length is not None else size
                bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                           desc=dest.name, disable=not progress, dynamic_ncols=True)
                try:
                    with open(part, "ab" if start else "wb") as out:
                        _copy(response, out, bar)
                except (OSError, socket.timeout) as exc:
                    raise DownloadError(f"{url}: interrupted ({exc}); the partial file {part} is kept "
                                        "and the next run resumes it") from None
                finally:
                    bar.close()
            got = part.stat().st_size
            if total is not None and got < total:
                raise DownloadError(f"{url}: got {got} of {total} bytes; the partial file {part} is kept "
                                    "and the next run resumes it")
    verify(part, sha256, size, url)
    os.replace(part, dest)  # same folder: atomic, so `dest` is only ever a complete, verified file
    return dest


def verify(path: Path, sha256: Optional[str], size: Optional[int], origin: str) -> None:
    """Size and checksum checks; a file that fails is removed (it cannot be resumed into shape)."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        path.unlink()
        raise DownloadError(f"{origin}: {actual_size} bytes, expected {size}; removed {path}")
    if sha256:
        actual = sha256_of(path)
        if actual.lower() != sha256.lower():
            path.unlink()
            raise DownloadError(f"{origin}: sha256 {actual} does not match the expected {sha256.lower()}; "
                                f"removed {path}")


def install(model: PublishedModel, checkpoints_dir: Path, url: Optional[str] = None,
            sha256: Optional[str] = None, force: bool = False, progress: bool = True,
            log: Callable[[str], None] = print) -> Path:
    """Download ``model`` (unless already there) and convert it into ``checkpoints_dir/NAME``."""
    from translate.interop.reference import import_file, save_imported

    folder = Path(checkpoints_dir) / model.name
    if (folder / METADATA_FILE).exists():
        if not _holds_download(folder, model):
            # A user's own run that happens to carry the published name: never taken for the
            # download, never overwritten (not even with --force).
            raise DownloadError(f"{folder}: already holds a run that is not the published {model.name}; "
                                f"move it, or download into another --checkpoints-dir")
        if not force:
            log(f"{model.name}: already in {folder} (use --force to fetch and convert again)")
            return folder
    raw = folder / model.filename
    expected_sha = sha256 or model.sha256
    if raw.exists() and not force:
        log(f"{model.name}: using {raw} already there")
        verify(raw, expected_sha, model.size, str(raw))
    elif model.manual and not url:
        folder.mkdir(parents=True, exist_ok=True)  # ready for the file the user will put there
        raise DownloadError(f"{model.name}: its host needs a browser; {_by_hand(model.url, raw)}")
    else:
        if force and raw.exists():
            raw.unlink()
        fetch(url or model.url, raw, expected_sha, model.size, progress=progress)
    digest = sha256_of(raw)
    if not expected_sha:
        log(f"{model.name}: no published checksum; sha256 {digest} (its layout is verified instead)")
    imported = import_file(raw, "AtoB")
    _check_expected(model, imported, raw)
    imported.spec.preprocess = {**imported.spec.preprocess, **model.preprocess}
    return save_imported(folder, {"AtoB": imported}, {"AtoB": raw.name}, model.translator,
                         {"name": model.name, "url": url or model.url, "sha256": digest, "published": asdict(model)})


def _holds_download(folder: Path, model: PublishedModel) -> bool:
    """True when ``folder`` was made by downloading ``model`` (its source.json names it)."""
    from translate.interop.reference import SOURCE_FILE
    from translate.model_files.bounds import read_json_file

    try:
        source = read_json_file(folder / SOURCE_FILE)
    except (OSError, TranslateError):  # none, or not readable: not ours to call a download
        return False
    return isinstance(source, dict) and source.get("name") == model.name


def _check_expected(model: PublishedModel, imported, raw: Path) -> None:
    """A published name promises an architecture: a file that is something else is not it."""
    spec = imported.spec
    got = (spec.architecture, spec.in_channels, spec.out_channels, *(spec.kwargs.get(k) for k in model.kwargs))
    want = (model.architecture, model.in_channels, model.out_channels, *model.kwargs.values())
    if got != want:
        raise DownloadError(f"{raw}: is a {imported.layout.description}, but {model.name} is published as "
                            f"{model.architecture} {json.dumps(model.kwargs)}; wrong file?")
