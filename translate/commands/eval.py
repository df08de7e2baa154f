"""`translate eval`: measure a checkpoint on a dataset split, or compare two folders of images."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.choices import DIRECTIONS, EXIT_FAILED
from translate.commands import (Command, UsageError, add_device_args, register, require_file, require_folder,
                                require_path, require_positive, require_writable)


def _epilog() -> str:
    from translate.eval.metrics import METRICS

    metrics = "\n".join(f"  {name:11s} {summary}" for name, summary in METRICS.summaries())
    return ("metrics:\n" + metrics + "\n\ndefaults: paired data psnr,ssim,lpips; unpaired data "
            "fid,kid,cycle_psnr; two folders psnr,ssim,lpips,fid,kid. See docs/eval.md.")


class _MetricsEpilog(argparse.RawDescriptionHelpFormatter):
    """Writes the metric list into --help only: the metrics registry imports torch, which a
    run of ``eval`` with a typo in its paths should not pay for before saying so."""

    def add_text(self, text) -> None:
        super().add_text(text() if callable(text) else text)


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.formatter_class = _MetricsEpilog
    p.epilog = _epilog  # type: ignore[assignment]  # a callable, read by _MetricsEpilog
    model = p.add_argument_group("a checkpoint on a dataset split")
    model.add_argument("--checkpoint", help="a run folder (checkpoints/NAME) or a generator .safetensors file")
    model.add_argument("--data", help="dataset root, in any layout `translate train` reads")
    model.add_argument("--split", default="test", help="split to translate and measure (default test)")
    model.add_argument("--direction", choices=DIRECTIONS, help="only this generator (default: all)")
    folders = p.add_argument_group("two folders, no model")
    folders.add_argument("--pred", help="folder of outputs (searched recursively)")
    folders.add_argument("--target", help="folder of targets; files are matched to --pred by name")
    folders.add_argument("--target-part", default="auto", choices=("auto", "whole", "A", "B"),
                         help="compare with the whole target or one half of a side-by-side A|B image "
                              "(auto: the B half when a target is exactly twice as wide as its output)")
    p.add_argument("--metrics", help="comma-separated metric names (default: by data, see below)")
    p.add_argument("--json", metavar="PATH", help="write the results here (default for --checkpoint: "
                                                  "beside it, eval_SPLIT_DATASET.json; nothing when the "
                                                  "checkpoint is tracked by git)")
    p.add_argument("--max-images", type=int, help="use the first N images (by name) of each folder or domain")
    p.add_argument("--size", type=int, help="resize inputs (and paired targets) so the long side is SIZE")
    p.add_argument("--batch-size", type=int, default=8, help="images per feature-network pass (default 8)")
    p.add_argument("--weights-dir", help="folder holding feature-network weights under their usual names "
                                         "(searched before the torch cache; nothing is downloaded)")
    p.add_argument("--inception-weights", metavar="FILE", help="FID Inception weights file (FID, KID)")
    p.add_argument("--lpips-weights", metavar="FILE", help="torchvision AlexNet weights file (LPIPS)")
    add_device_args(p)


def _weight_paths(args: argparse.Namespace):
    from translate.eval import WeightPaths

    files = {"inception": args.inception_weights, "alex": args.lpips_weights}
    return WeightPaths(folder=args.weights_dir, files={k: v for k, v in files.items() if v})


def _eval_check(args: argparse.Namespace) -> None:
    model_form, folder_form = bool(args.checkpoint or args.data), bool(args.pred or args.target)
    if model_form == folder_form:
        raise UsageError("give either --checkpoint and --data, or --pred and --target")
    if model_form and not (args.checkpoint and args.data):
        raise UsageError("--checkpoint needs --data (and --data needs --checkpoint)")
    if folder_form and not (args.pred and args.target):
        raise UsageError("--pred needs --target (and --target needs --pred)")
    require_positive(args, "max_images", "size", "batch_size")
    require_path(args.checkpoint, "--checkpoint")
    for value, flag in ((args.data, "--data"), (args.pred, "--pred"), (args.target, "--target"),
                        (args.weights_dir, "--weights-dir")):
        require_folder(value, flag)
    require_file(args.inception_weights, "--inception-weights")
    require_file(args.lpips_weights, "--lpips-weights")
    require_writable(args.json)


def _eval_run(args: argparse.Namespace) -> int:
    from translate.devices import configure_threads, resolve_device, resolve_precision
    from translate.eval import EvalOptions, FeatureNets, default_json_path, evaluate_checkpoint, evaluate_folders

    model_form = bool(args.checkpoint)
    configure_threads()
    device = resolve_device(args.device or "auto")
    options = EvalOptions(
        metrics=[m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else (),
        max_images=args.max_images, size=args.size, batch_size=args.batch_size, target_part=args.target_part,
    )
    features = FeatureNets(_weight_paths(args), device)
    if model_form:
        dtype = resolve_precision(args.precision or "auto", device)
        report = evaluate_checkpoint(Path(args.checkpoint), Path(args.data), args.split, features, device, dtype,
                                     args.direction, options)
        json_path = Path(args.json) if args.json else default_json_path(Path(args.checkpoint), args.split,
                                                                         Path(args.data))
        if json_path is None:
            print(f"results not written: {args.checkpoint} is tracked by git (pass --json PATH to keep them)",
                  file=sys.stderr)
    else:
        report = evaluate_folders(Path(args.pred), Path(args.target), features, options)
        json_path = Path(args.json) if args.json else None

    for metric, reason in report.skipped.items():
        print(f"skipped {metric}: {reason}", file=sys.stderr)
    print(report.table())
    if json_path is not None:
        report.write_json(json_path)
        print(f"results: {json_path}", file=sys.stderr)
    if report.failed:
        print(f"{len(report.failed)} file(s) could not be evaluated:", file=sys.stderr)
        for name, reason in report.failed.items():
            print(f"  {name}: {reason}", file=sys.stderr)
        return EXIT_FAILED
    return 0


register(Command("eval", "measure quality: a checkpoint on a dataset split, or two folders of images",
                 _eval_args, _eval_run, _eval_check))
