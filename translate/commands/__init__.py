"""Subcommands of the ``translate`` CLI, one module each.

A command module defines how to add its arguments and how to run, and registers
a ``Command``; ``translate.cli`` imports every module of this package and builds
the parser from the registry. Adding a command is one new module.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable, Dict

from translate.errors import UsageError  # noqa: F401  (commands import it from here)


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


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
    p.add_argument("--precision", default=None, choices=["auto", "fp32", "bf16", "fp16"],
                   help="autocast precision. auto (default) = bf16 on CUDA and on CPUs with native bf16 "
                        "(measured faster than fp32 there, see tools/BENCHMARKS.md), else fp32; fp16 is CUDA only")


EXIT_FAILED = 1


def report_failures(failed, written_line: str) -> int:
    """Print what a batch wrote, then each file that failed on its own line; the exit code.

    ``failed``: (path, one-line reason) pairs. Batch commands keep going past a bad file and
    say so at the end, with exit code 1 when any failed.
    """
    import sys

    print(written_line, file=sys.stderr)
    if not failed:
        return 0
    print(f"{len(failed)} file(s) failed:", file=sys.stderr)
    for _, reason in failed:
        print(f"  {reason}", file=sys.stderr)
    return EXIT_FAILED
