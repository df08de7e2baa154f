"""Errors of the interop room; each prints as one line naming the file or URL and the problem."""
from __future__ import annotations

from translate.errors import TranslateError
from translate.checkpoint import CheckpointError


class LayoutError(CheckpointError):
    """A state dict that matches no known published layout (message: closest layout, mismatches)."""


class UnsafeCheckpointError(CheckpointError):
    """A pickled file that would need to run code to load; it was refused, nothing was executed."""


class DownloadError(TranslateError, RuntimeError):
    """A download that failed, was incomplete or did not match its checksum."""


class ExportError(TranslateError, RuntimeError):
    """An export that failed or whose output differs from the PyTorch model."""
