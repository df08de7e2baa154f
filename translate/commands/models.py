"""`translate models`: what the registries hold."""
from __future__ import annotations

import argparse

from translate.commands import Command, register


def _models_args(p: argparse.ArgumentParser) -> None:
    pass


def _models_run(args: argparse.Namespace) -> int:
    from translate.api import list_models

    for title, members in list_models().items():
        print(f"{title}:")
        for name, summary in members:
            print(f"  {name:18s} {summary}")
        print()
    return 0


register(Command("models", "list translators, generators, discriminators and losses", _models_args, _models_run))
