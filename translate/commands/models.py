"""`translate models`: what the registries hold."""
from __future__ import annotations

import argparse

from translate.commands import Command, register


def _models_args(p: argparse.ArgumentParser) -> None:
    pass


def _models_run(args: argparse.Namespace) -> int:
    import translate.losses  # noqa: F401  (registration)
    import translate.nets  # noqa: F401
    import translate.translators  # noqa: F401
    from translate.registry import DISCRIMINATORS, GENERATORS, LOSSES, TRANSLATORS

    for title, registry in (("translators", TRANSLATORS), ("generators", GENERATORS),
                            ("discriminators", DISCRIMINATORS), ("losses", LOSSES)):
        print(f"{title}:")
        for name, summary in registry.summaries():
            print(f"  {name:18s} {summary}")
        print()
    return 0


register(Command("models", "list translators, generators, discriminators and losses", _models_args, _models_run))
