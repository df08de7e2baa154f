"""`translate apply`: translate images and videos (a file, or a folder of both) with a trained checkpoint."""
from __future__ import annotations

import argparse
from pathlib import Path

from translate.choices import DEFAULT_DIRECTION, DIRECTIONS
from translate.commands import (Command, UsageError, add_device_args, frame_rate, register, report_failures,
                                require_path, require_writable)

MAX_PIXELS = 100_000_000  # translate.data.io.MAX_PIXELS, repeated so --help needs no torch import


def _tile(value: str) -> str:
    if value in ("auto", "off") or (value.isdigit() and int(value) > 0):
        return value
    raise argparse.ArgumentTypeError(f"expected auto, off or a tile size in pixels, got {value!r}")


def _apply_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a run folder (checkpoints/NAME), a .safetensors generator file, "
                                                       "or a published pytorch-CycleGAN-and-pix2pix / pix2pixHD .pth")
    p.add_argument("--step", type=int, help="a run folder's earlier save, kept in steps/STEP/ (the last keep_last "
                                            "saves and the best evaluation); default: the newest")
    p.add_argument("--input", required=True, help="an image, a video (.mp4 .mov .mkv .avi .webm .m4v) or a folder "
                                                  "of both (searched recursively)")
    p.add_argument("--output", required=True, help="output file, or folder that mirrors the input tree")
    p.add_argument("--direction", choices=DIRECTIONS,
                   help=f"which generator of a two-way model (default {DEFAULT_DIRECTION}; a one-way model uses its own)")
    p.add_argument("--size", type=int, help="resize so the long side is SIZE before translating (default: keep size; "
                                            "videos round to even sizes)")
    p.add_argument("--batch-size", type=int, default=4, help="images or video frames per forward pass (4)")
    p.add_argument("--side-by-side", action="store_true", help="write input | output side by side, for review")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that already exist (default: skip them, "
                                                            "so a re-run resumes an interrupted batch)")
    g = p.add_argument_group("large inputs")
    g.add_argument("--tile", type=_tile, default="auto", metavar="auto|off|N",
                   help="auto (default): translate whole, switch to tiles only if a frame does not fit in memory; "
                        "N: tiles of N px whenever a frame is larger; off: never tile")
    g.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                   help=f"refuse images of more than N pixels, read from the header before decoding "
                        f"({MAX_PIXELS:,}; 0 = no limit)")
    g.add_argument("--tile-overlap", type=int, default=64, help="pixels shared by neighbouring tiles (64), blended")
    p.add_argument("--reference-test-mode", action="store_true",
                   help="behave like pytorch-CycleGAN-and-pix2pix's test.py: batch norm uses each image's own "
                        "statistics and dropout stays on (random). Default: evaluation mode (deterministic)")
    p.add_argument("--features", metavar="LABEL=CLUSTER,...|random",
                   help="pix2pixHD models trained with its feature encoder (--set features=instance): the look "
                        "each label's objects take, as a cluster of the training objects' codes, e.g. 26=3,24=1 "
                        "(labels not named: cluster 0, the commonest; the clusters are listed when apply starts), "
                        "or random (a cluster drawn per object, as pix2pixHD does)")
    v = p.add_argument_group("video")
    v.add_argument("--fps", type=frame_rate, help="constant output frame rate (frames dropped or repeated); default keeps "
                                            "every input frame and its timestamp (variable frame rate too)")
    v.add_argument("--temporal", type=float, default=0.0, metavar="STRENGTH",
                   help="reduce flicker: blend each output with the previous one warped by optical flow, "
                        "0 (off, default) to 1; prints the flicker metric")
    v.add_argument("--flicker", action="store_true", help="print the flicker metric without filtering")
    v.add_argument("--codec", help="video encoder (default: libx264, or VP9 for .webm; another available one "
                                   "is chosen with a message if missing)")
    v.add_argument("--crf", type=int, default=18, help="encoder quality, lower is better (18)")
    add_device_args(p)


def _check(args: argparse.Namespace) -> None:
    # The request bounds every caller of apply shares (torch-free), checked before anything loads.
    from translate.apply.limits import MAX_BATCH, MAX_FPS, MAX_SIZE, check_range

    check_range("--batch-size", args.batch_size, 1, MAX_BATCH, allow_none=False, error=UsageError)
    check_range("--size", args.size, 2, MAX_SIZE, error=UsageError)
    check_range("--temporal", args.temporal, 0.0, 1.0, allow_none=False, error=UsageError)
    check_range("--fps", None if args.fps is None else float(args.fps), 0.01, MAX_FPS, error=UsageError)
    if args.max_pixels is not None and args.max_pixels < 0:
        raise UsageError(f"--max-pixels must be at least 1 (0 for no limit), got {args.max_pixels}")
    if args.tile_overlap < 0:
        raise UsageError(f"--tile-overlap must be >= 0, got {args.tile_overlap}")
    require_path(args.checkpoint, "--checkpoint")
    require_path(args.input, "--input")
    require_writable(args.output)


def _apply_run(args: argparse.Namespace) -> int:
    from translate.apply.batch import BatchOptions
    from translate.apply.job import ApplyJob, run_job
    from translate.apply.video import VideoOptions

    video = VideoOptions(batch_size=args.batch_size, size=args.size, fps=args.fps, side_by_side=args.side_by_side,
                         temporal=args.temporal, measure_flicker=args.flicker, codec=args.codec, crf=args.crf)
    batch = BatchOptions(args.batch_size, args.size, args.side_by_side, args.overwrite,
                         max_pixels=args.max_pixels or None, video=video)
    report = run_job(ApplyJob(Path(args.checkpoint), Path(args.input), Path(args.output), args.direction, args.step,
                              args.device, args.precision, args.tile, args.tile_overlap, args.reference_test_mode,
                              batch, args.features))
    skipped = f", skipped {len(report.skipped)} existing" if report.skipped else ""
    return report_failures(report.failed, f"wrote {len(report.written)} file(s) to {args.output}{skipped}")


register(Command("apply", "translate images and videos with a trained checkpoint", _apply_args, _apply_run, _check))
