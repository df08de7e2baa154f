"""The ``translate`` command.

Subcommands live in ``translate.commands`` (one module each, registered by name).
This module builds the parser from that registry, runs one command, and turns the
package's own errors (``TranslateError``) into one-line messages with a non-zero
exit code; any other exception is a bug and keeps its traceback.

Only the chosen command's arguments are built, and a command checks them (its ``check``:
numbers, paths, names, no torch) before it runs: torch and the rooms cost seconds to import,
which a typo should not pay (issue 21). tests/test_cli_startup.py keeps these paths torch-free.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no update check (and no warning) offline

from translate.choices import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE  # noqa: E402
from translate.commands import load_all  # noqa: E402
from translate.errors import TranslateError, UsageError  # noqa: E402


def _chosen_command(argv: List[str], names) -> Optional[str]:
    """The first argument that is a command's name (options come after it, or are the top level's)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in names else None
    return None


def build_parser(argv: Optional[List[str]] = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names gets its arguments (all do without)."""
    parser = argparse.ArgumentParser(
        prog="translate",
        description="Image-to-image translation: pix2pix, CycleGAN and friends.",
        epilog="Run `translate COMMAND --help` for a command's options. Docs: README.md",
    )
    parser.add_argument("--version", action="version", version=f"translate {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = load_all()
    chosen = None if argv is None else _chosen_command(argv, commands)
    for name, command in commands.items():
        p = sub.add_parser(name, help=command.summary, description=command.summary[0].upper() + command.summary[1:] + ".")
        if argv is None or name == chosen:
            command.add_arguments(p)
    return parser


def _version() -> str:
    from translate.version import __version__

    return __version__


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    command = load_all()[args.command]
    try:
        command.check(args)
        return command.run(args)
    except KeyboardInterrupt:
        print("translate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TranslateError as exc:
        print(f"translate {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
