"""The one base class of every error a user can cause.

``translate`` commands print a ``TranslateError`` as one line and exit non-zero;
any other exception is a bug and keeps its traceback. Each room keeps its own
subclasses next to the code that raises them; they also derive from the builtin
that fits (``ValueError``, ``FileNotFoundError``, ...) so callers that catch the
builtin keep working.
"""
from __future__ import annotations


class TranslateError(Exception):
    """Something the user can fix: a bad file, setting, path or device."""


class UsageError(TranslateError, ValueError):
    """Arguments that do not make sense together; the CLI exits with code 2."""


class InputNotFoundError(TranslateError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class InvalidSettingError(TranslateError, ValueError):
    """An option's value that its network, loss or tool cannot take."""


class DataError(TranslateError, ValueError):
    """A dataset, image or keypoint file that cannot be used as it is."""
