"""`translate export`: write a generator as ONNX, TorchScript or safetensors, verified."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.choices import DEFAULT_DIRECTION, DIRECTIONS
from translate.commands import Command, UsageError, register, require_path, require_writable


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True,
                   help="a run folder, a .safetensors generator file or a reference .pth state dict")
    p.add_argument("--format", required=True, choices=["onnx", "torchscript", "safetensors"],
                   help="onnx (dynamic batch/height/width), torchscript (traced) or safetensors (toolkit file)")
    p.add_argument("--output", required=True,
                   help="output file, or a folder to write generator_<direction>.<ext> into")
    p.add_argument("--direction", choices=DIRECTIONS, help=f"which generator of a two-way model (default {DEFAULT_DIRECTION})")
    p.add_argument("--no-verify", action="store_true",
                   help="skip running the exported model against PyTorch (not recommended)")


def _export_check(args: argparse.Namespace) -> None:
    require_path(args.checkpoint, "--checkpoint")
    require_writable(args.output)


def _export_run(args: argparse.Namespace) -> int:
    from translate.interop.loading import load_generator
    from translate.interop.export import TOLERANCE, export_generator, output_path

    net, spec = load_generator(Path(args.checkpoint), args.direction)
    if output_path(Path(args.output), args.format, spec).resolve() == Path(args.checkpoint).resolve():
        raise UsageError(f"{args.output}: would overwrite the checkpoint it exports; choose another output")
    print(f"exporting {spec.translator or 'model'} {spec.direction} ({spec.architecture}) as {args.format} ...",
          file=sys.stderr)
    report = export_generator(net, spec, Path(args.output), args.format, verify=not args.no_verify)
    for shape, diff in report.checks:
        print(f"  input {'x'.join(map(str, shape))}: max |exported - PyTorch| = {diff:.2e}", file=sys.stderr)
    verdict = f"verified with {report.verified_with}" + (f" (tolerance {TOLERANCE:.0e})" if report.checks else "")
    print(f"wrote {report.path}; {verdict}")
    return 0


register(Command("export", "export a generator as ONNX, TorchScript or safetensors (verified against PyTorch)",
                 _export_args, _export_run, _export_check))
