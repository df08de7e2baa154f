"""`translate apply`: translate image files with a trained checkpoint."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.commands import Command, add_device_args, register

EXIT_FAILED = 1
DIRECTIONS = ("AtoB", "BtoA")


def _apply_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a run folder (checkpoints/NAME) or a .safetensors generator file")
    p.add_argument("--input", required=True, help="an image file or a folder (searched recursively)")
    p.add_argument("--output", required=True, help="output file, or folder that mirrors the input tree")
    p.add_argument("--direction", choices=DIRECTIONS, help="which generator of a two-way model (default AtoB; "
                                                           "a one-way model uses its own)")
    p.add_argument("--size", type=int, help="resize so the long side is SIZE before translating (default: keep size)")
    p.add_argument("--batch-size", type=int, default=4, help="images per forward pass (same-size images only)")
    add_device_args(p)


def _apply_run(args: argparse.Namespace) -> int:
    from translate.apply.images import apply_to_images, plan_outputs
    from translate.checkpoint import load_generator
    from translate.devices import configure_threads, precision_name, resolve_device, resolve_precision

    configure_threads()
    net, spec = load_generator(Path(args.checkpoint), args.direction)
    device = resolve_device(args.device or "auto")
    dtype = resolve_precision(args.precision or "auto", device)
    pairs = plan_outputs(Path(args.input), Path(args.output))
    print(f"{spec.translator or 'model'} {spec.direction} ({spec.architecture}) on {device}, "
          f"{precision_name(dtype)}: {len(pairs)} image(s) -> {args.output}", file=sys.stderr)
    report = apply_to_images(net, pairs, spec.in_channels, device, dtype, args.batch_size, args.size)
    print(f"wrote {len(report.written)} image(s) to {args.output}", file=sys.stderr)
    if report.failed:
        print(f"{len(report.failed)} file(s) failed:", file=sys.stderr)
        for src, reason in report.failed:
            print(f"  {reason}", file=sys.stderr)
        return EXIT_FAILED
    return 0


register(Command("apply", "translate images with a trained checkpoint", _apply_args, _apply_run))
