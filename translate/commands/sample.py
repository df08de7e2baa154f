"""`translate sample`: draw corresponding A/B pairs from a generative (CoGAN) checkpoint.

Parses the flags and calls ``translate.apply.sample.sample_grid``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.commands import (Command, UsageError, add_device_args, register, require_path, require_positive,
                                require_writable)


def _sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a CoGAN run folder or one of its generator_*.safetensors files")
    p.add_argument("--output", required=True, help="grid image to write (.png or .jpg)")
    p.add_argument("--n", type=int, default=64, help="number of A/B pairs (default 64)")
    p.add_argument("--columns", type=int, help="pairs per row (default: about square)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    add_device_args(p)


def _sample_check(args: argparse.Namespace) -> None:
    require_positive(args, "n", "columns")
    require_path(args.checkpoint, "--checkpoint")
    require_writable(args.output)


def _sample_run(args: argparse.Namespace) -> int:
    from translate.apply.sample import can_sample, sample_grid
    from translate.data import write_image
    from translate.data.io import is_image_file
    from translate.devices import configure_threads, resolve_device, resolve_precision
    from translate.interop.loading import load_generator

    if not is_image_file(args.output):
        raise UsageError(f"{args.output}: the grid needs an image extension such as .png or .jpg")
    configure_threads()
    net, spec = load_generator(Path(args.checkpoint))
    if not can_sample(net):
        raise UsageError(f"{args.checkpoint}: a {spec.translator or spec.architecture} checkpoint translates images "
                         f"and cannot sample from noise; `translate sample` needs a CoGAN checkpoint")
    device = resolve_device(args.device or "auto")
    grid = sample_grid(net, args.n, args.seed, args.columns, device, resolve_precision(args.precision or "auto", device))
    write_image(Path(args.output), grid)
    print(f"wrote {args.n} A|B pair(s) to {args.output}", file=sys.stderr)
    return 0


register(Command("sample", "draw corresponding A|B pairs from a CoGAN checkpoint into a grid image",
                 _sample_args, _sample_run, _sample_check))
