"""The ``translate`` command.

Subcommands live in ``translate.commands`` (one module each, registered by name).
This module builds the parser from that registry, runs one command, and turns
the package's own errors into one-line messages with a non-zero exit code.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no update check (and no warning) offline

from translate.commands import UsageError, load_all  # noqa: E402

EXIT_USAGE = 2
EXIT_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate",
        description="Image-to-image translation: pix2pix, CycleGAN and friends.",
        epilog="Run `translate COMMAND --help` for a command's options. Docs: README.md",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in load_all().items():
        command.add_arguments(sub.add_parser(name, help=command.summary,
                                             description=command.summary[0].upper() + command.summary[1:] + "."))
    return parser


def _user_errors() -> tuple:
    """Exceptions that mean "bad input" and print as one line instead of a traceback."""
    from translate.apply.images import ApplyError
    from translate.checkpoint import CheckpointError
    from translate.config import ConfigError
    from translate.data import ImageReadError
    from translate.devices import DeviceError
    from translate.interop.errors import DownloadError, ExportError
    from translate.registry import UnknownNameError
    from translate.train.loop import TrainingError

    return (UsageError, ConfigError, CheckpointError, DeviceError, ApplyError, UnknownNameError,
            TrainingError, ImageReadError, FileNotFoundError, NotADirectoryError, ValueError,
            DownloadError, ExportError)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    command = load_all()[args.command]
    try:
        return command.run(args)
    except KeyboardInterrupt:
        print("translate: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        print(f"translate {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
