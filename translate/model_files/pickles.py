"""Reading pickled files (``.pt``/``.pth``: training states, published weights, VGG/Inception
weights) without ever running code from them.

``torch.load(weights_only=True)`` refuses a pickle that would import or call anything; this room
words that refusal as one whole sentence (torch's own advises ``weights_only=False``, which would
run the file's code), and bounds what the pickle may make torch allocate (``bounds.check_torch_file``)
before it is read. Used by the checkpoint format, the losses and eval, and the interop importers.
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from translate.model_files.bounds import CheckpointError, check_torch_file


class UnsafeFileError(CheckpointError):
    """A pickle that would run code when loaded; refused, never loaded."""


def refusal_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a pickle, in our words: torch's own message
    ends by advising ``weights_only=False``, which would run the file's code."""
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
    if found:
        return f"loading it would import and call {found.group(1)}"
    return "it holds Python objects other than tensors and plain containers"


def _first_sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    end = text.find(". ")
    return text[:end] if 0 < end < 200 else text[:200]


def torch_load_safely(path: Path, what: str = "file") -> Any:
    """``torch.load`` with ``weights_only=True`` and one-line errors: a hostile pickle is refused
    with a whole sentence, a corrupt or empty file names itself."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise CheckpointError(f"{path}: the {what} is empty (0 bytes)")
        check_torch_file(path)  # sizes its pickle claims, before torch.load allocates them
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeFileError(f"{path}: refused: {refusal_reason(exc)}, and translate never runs code from a "
                              f"file; only tensors and plain containers are read.") from None
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as exc:  # truncated, not a torch file, a folder ...
        raise CheckpointError(f"{path}: cannot read this {what} ({_first_sentence(exc)})") from None


# numpy's names for rebuilding arrays in a pickle, under numpy 1 and numpy 2 module paths: they
# make arrays and dtypes and call nothing else, so a pickle limited to them runs no code.
_NUMPY_GLOBALS = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                  for name in ("_reconstruct", "scalar")} | {("numpy", "ndarray"), ("numpy", "dtype")}
MAX_NPY_BYTES = 64 * 2**20  # pix2pixHD's cluster files are a few kilobytes


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers and refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Unsupported global: GLOBAL {module}.{name}")


def load_npy_safely(path: Path, what: str = "file") -> Any:
    """A ``.npy`` file, including the pickled dicts ``np.save`` writes for objects (pix2pixHD's
    ``features_clustered_010.npy``), read without running code: ``np.load(allow_pickle=True)``
    would unpickle anything. Plain arrays come back as arrays; a pickled object array of shape ()
    comes back as its one object."""
    import numpy as np

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_NPY_BYTES:
            raise CheckpointError(f"{path}: {size:,} bytes, over the {MAX_NPY_BYTES:,} a {what} may have")
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            shape, _, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                               else np.lib.format.read_array_header_2_0(f))
            if not dtype.hasobject:
                return np.load(path, allow_pickle=False)
            array = _ArraysOnly(f, encoding="latin1").load()  # latin1: files pickled by Python 2
    except CheckpointError:
        raise
    except pickle.UnpicklingError as exc:
        raise UnsafeFileError(f"{path}: refused: {refusal_reason(exc)}, and translate never runs code from a "
                              f"file; only arrays and plain containers are read.") from None
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as exc:  # not a .npy, truncated ...
        raise CheckpointError(f"{path}: cannot read this {what} ({_first_sentence(exc)})") from None
    if isinstance(array, np.ndarray) and array.shape == () and array.dtype.hasobject:
        return array.item()
    return array
