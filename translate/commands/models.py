"""`translate models`: what the registries hold."""
from __future__ import annotations

import argparse

from translate.commands import Command, register


def _models_args(p: argparse.ArgumentParser) -> None:
    pass


def _models_run(args: argparse.Namespace) -> int:
    # The registries' catalogue, not translate.api.list_models: the API module imports the
    # apply room, video and the loaders, none of which a listing needs.
    from translate.pipelines.registry import catalogue

    for title, members in catalogue().items():
        print(f"{title}:")
        for name, summary in members:
            print(f"  {name:18s} {summary}")
        print()
    return 0


register(Command("models", "list translators, generators, discriminators, losses and pipelines", _models_args,
                 _models_run))
