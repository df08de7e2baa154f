"""`translate download NAME`: fetch a published pretrained model into a run folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.commands import Command, UsageError, register, require_writable


def _download_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME", help="published model(s), e.g. horse2zebra "
                                                            "(run with --list to see them all)")
    p.add_argument("--list", action="store_true", help="list the published models and their URLs")
    p.add_argument("--checkpoints-dir", default="checkpoints",
                   help="where run folders live (default: checkpoints); NAME goes to CHECKPOINTS_DIR/NAME/")
    p.add_argument("--url", help="download from this URL instead of the official one (a mirror); one NAME only")
    p.add_argument("--sha256", help="expected SHA-256 of the file (none is published; pin one you trust)")
    p.add_argument("--force", action="store_true", help="download and convert again even if the folder exists")


def _list() -> int:
    from translate.interop.published import published_models

    for m in published_models():
        print(f"{m.name:26s} {m.translator:9s} {m.architecture:15s} {m.summary}")
        print(f"{'':26s} {m.url}")
    return 0


def _download_check(args: argparse.Namespace) -> None:
    from translate.interop.published import published  # the catalogue is plain data, no torch

    if args.list or not args.names:
        return
    if args.url and len(args.names) > 1:
        raise UsageError("--url applies to a single NAME")
    for name in args.names:  # every name checked before any download
        published(name)
    require_writable(args.checkpoints_dir)


def _download_run(args: argparse.Namespace) -> int:
    if args.list or not args.names:
        return _list()
    from translate.interop.download import install  # reads checkpoint metadata: torch
    from translate.interop.published import published

    models = [published(name) for name in args.names]
    for model in models:
        folder = install(model, Path(args.checkpoints_dir), url=args.url, sha256=args.sha256, force=args.force,
                         log=lambda line: print(line, file=sys.stderr))
        print(f"{model.name}: ready in {folder}  (translate apply --checkpoint {folder} --input ... --output ...)")
    return 0


register(Command("download", "download published pretrained models (horse2zebra, ...) into run folders",
                 _download_args, _download_run, _download_check))
