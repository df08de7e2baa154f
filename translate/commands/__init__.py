"""Subcommands of the ``translate`` CLI, one module each.

A command module defines how to add its arguments, how to check them and how to run,
and registers a ``Command``; ``translate.cli`` imports every module of this package and
builds the parser from the registry. Adding a command is one new module.

A command's ``check`` runs before its ``run`` and must not import torch (nor any room that
does): it refuses bad numbers and missing inputs in well under a second, where ``run``
pays seconds of imports first. tests/test_cli_startup.py holds every command to it.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Dict, Optional

from translate.choices import EXIT_FAILED, PRECISIONS
from translate.errors import InputNotFoundError, TranslateError, UsageError  # noqa: F401  (commands import them from here)

Check = Callable[[argparse.Namespace], None]


def no_check(args: argparse.Namespace) -> None:
    """For a command whose arguments only its room can judge."""


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    check: Check = no_check  # cheap: argparse values and paths, no torch


COMMANDS: Dict[str, Command] = {}


def register(command: Command) -> Command:
    if command.name in COMMANDS:
        raise ValueError(f"command {command.name!r} is registered twice")
    COMMANDS[command.name] = command
    return command


def load_all() -> Dict[str, Command]:
    from translate.registry import import_submodules

    import_submodules(__name__)
    return COMMANDS


def add_device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="auto (default: CUDA if present, else CPU), cpu, cuda or cuda:N")
    p.add_argument("--precision", default=None, choices=PRECISIONS,
                   help="autocast precision. auto (default) = bf16 on CUDA and on CPUs with native bf16 "
                        "(measured faster than fp32 there, see tools/BENCHMARKS.md), else fp32; fp16 is CUDA only")


def frame_rate(value: str) -> Fraction:
    """argparse type of every --fps: "30", "29.97" and "30000/1001" all work."""
    try:
        fps = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a frame rate such as 30 or 30000/1001, got {value!r}") from None
    if fps <= 0:
        raise argparse.ArgumentTypeError(f"frame rate must be positive, got {value}")
    return fps.limit_denominator(1001 * 1000)


class OutputNotWritableError(TranslateError, PermissionError):
    """An output path that cannot be created: a file in the way, or a folder we may not write."""


def _existing(value: Optional[str], name: str, kind: str) -> Optional[Path]:
    """``value`` as an existing path of ``kind`` (file, folder, or "file or folder"); None stays None.

    ``name`` is the option or argument as the user typed it (--data, video), so the one-line
    error says which of several paths is wrong.
    """
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{name} {value}: no such {kind}")
    if kind == "file" and path.is_dir():
        raise InputNotFoundError(f"{name} {value}: is a folder, not a file")
    if kind == "folder" and not path.is_dir():
        raise InputNotFoundError(f"{name} {value}: is a file, not a folder")
    return path


def require_path(value: Optional[str], name: str) -> Optional[Path]:
    """An existing file or folder (a checkpoint, an input that may be either); None passes (unset option)."""
    return _existing(value, name, "file or folder")


def require_file(value: Optional[str], name: str) -> Optional[Path]:
    return _existing(value, name, "file")


def require_folder(value: Optional[str], name: str) -> Optional[Path]:
    return _existing(value, name, "folder")


def require_writable(value: Optional[str]) -> None:
    """Refuse an output whose nearest existing ancestor is a file or a folder we may not write.

    Only the cheap half of "can we write there": the room still reports what only writing
    finds (a full disk, a name the file system refuses).
    """
    if value is None:
        return
    path = Path(value).expanduser().absolute()
    ancestor = path if path.exists() else next(p for p in path.parents if p.exists())
    if ancestor != path and not ancestor.is_dir():
        raise OutputNotWritableError(f"{value}: cannot be created, {ancestor} is a file")
    if not os.access(ancestor if ancestor.is_dir() else ancestor.parent, os.W_OK):
        raise OutputNotWritableError(f"{value}: cannot write there ({ancestor}: permission denied)")


def require_positive(args: argparse.Namespace, *flags: str) -> None:
    """Each named option, when given, is at least 1 (``batch_size`` is told as --batch-size)."""
    for flag in flags:
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")


def report_failures(failed, written_line: str) -> int:
    """Print what a batch wrote, then each file that failed on its own line; the exit code.

    ``failed``: (path, one-line reason) pairs. Batch commands keep going past a bad file and
    say so at the end, with exit code 1 when any failed.
    """
    return _report(written_line, [reason for _, reason in failed], "file(s) failed")


def report_problems(problems, written_line: str) -> int:
    """Like ``report_failures`` for one-line ``problems`` that are not all about one file each
    (a stopped decode, an unreadable keypoint file): counted as "N problem(s):"."""
    return _report(written_line, list(problems), "problem(s)")


def _report(written_line: str, reasons, heading: str) -> int:
    import sys

    print(written_line, file=sys.stderr)
    if not reasons:
        return 0
    print(f"{len(reasons)} {heading}:", file=sys.stderr)
    for reason in reasons:
        print(f"  {reason}", file=sys.stderr)
    return EXIT_FAILED
