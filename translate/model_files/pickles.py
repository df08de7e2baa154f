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
