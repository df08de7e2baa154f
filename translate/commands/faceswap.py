"""`translate faceswap`: swap the face in videos and photos with a trained faceswap checkpoint."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.choices import DEFAULT_DIRECTION, DIRECTIONS
from translate.commands import (Command, UsageError, add_device_args, frame_rate, register, report_failures,
                                require_path, require_writable)
from translate.commands.faces import add_face_args, check_face_args, make_detector


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a faceswap run folder (checkpoints/NAME) or a generator "
                                                       ".safetensors file")
    p.add_argument("--input", required=True, help="a video, a photo, or a folder of both (searched recursively)")
    p.add_argument("--output", required=True, help="output file, or folder that mirrors the input tree")
    p.add_argument("--direction", choices=DIRECTIONS, help=f"which generator: {DEFAULT_DIRECTION} (default) turns A's face into B's")
    p.add_argument("--batch-size", type=int, default=4, help="frames per forward pass (4)")
    p.add_argument("--size", type=int, help="resize so the long side is SIZE first (default: keep size; videos "
                                            "round to even sizes)")
    p.add_argument("--side-by-side", action="store_true", help="write input | output side by side, for review")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that already exist (default: skip them)")
    add_face_args(p, size_default=None, select=False)
    s = p.add_argument_group("swap")
    s.add_argument("--face", default="largest", metavar="ID|largest|centre",
                   help="which face to replace, the same one over the whole clip: the face with this ID (IDs are "
                        "drawn in --preview), the largest over the clip (default) or the one nearest the centre; "
                        "other faces are left untouched")
    s.add_argument("--preview", help="write a PNG per input of its faces with their IDs, the swapped one marked and "
                                     "its swap region (--mask) tinted red (several inputs: NAME_<input name>.png)")
    s.add_argument("--smoothing", type=float, default=0.6,
                   help="landmark smoothing over time against jitter, 0 (off) to <1 (0.6)")
    s.add_argument("--temporal", type=float, default=0.0,
                   help="blend each translated face with the previous one, 0 (off, default) to <1")
    s.add_argument("--color", choices=("none", "mean", "lab", "histogram"), default="lab",
                   help="colour matching of the face to the frame (lab: mean/std transfer in Lab)")
    s.add_argument("--blend", choices=("feather", "poisson"), default="feather",
                   help="feathered alpha blend (default) or Poisson seamless cloning")
    s.add_argument("--erode", type=float, default=0.04, help="shrink the mask by this fraction of the crop (0.04)")
    s.add_argument("--feather", type=float, default=0.06, help="soften the mask edge, fraction of the crop (0.06)")
    v = p.add_argument_group("video")
    v.add_argument("--fps", type=frame_rate, help="constant output frame rate; default keeps every frame and timestamp")
    v.add_argument("--codec", help="video encoder (default: libx264, or VP9 for .webm)")
    v.add_argument("--crf", type=int, default=18, help="encoder quality, lower is better (18)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_device_args(p)


def face_choice(text: str):
    from translate.people.choosing import Choice

    try:
        return Choice.parse(text, "--face", "face")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check(args: argparse.Namespace) -> None:
    check_face_args(args)
    if args.size is not None and args.size < 2:
        raise UsageError(f"--size must be >= 2, got {args.size}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    for name in ("smoothing", "temporal"):
        if not 0.0 <= getattr(args, name) < 1.0:
            raise UsageError(f"--{name} must be in [0, 1), got {getattr(args, name)}")
    if args.erode < 0 or args.feather < 0:
        raise UsageError("--erode and --feather must be >= 0")
    face_choice(args.face)
    if args.preview:
        require_writable(args.preview)
    require_path(args.checkpoint, "--checkpoint")
    require_path(args.input, "--input")
    require_writable(args.output)


def _run(args: argparse.Namespace) -> int:
    from translate.apply.video import VideoOptions
    from translate.people.faces_blend import BlendOptions
    from translate.people.faces_track import TrackOptions
    from translate.pipelines.faceswap_batch import FaceSwapJob, NotAFaceModelError, swap_checkpoint

    video = VideoOptions(batch_size=args.batch_size, size=args.size, fps=args.fps, side_by_side=args.side_by_side,
                         codec=args.codec, crf=args.crf)
    job = FaceSwapJob(Path(args.checkpoint), Path(args.input), Path(args.output), args.direction, args.device,
                      args.precision, args.margin,
                      TrackOptions(smoothing=args.smoothing, min_size=args.min_face),
                      BlendOptions(args.color, args.blend, args.erode, args.feather), args.temporal, args.mask,
                      face_choice(args.face), Path(args.preview) if args.preview else None,
                      video, args.overwrite, not args.no_progress)
    try:
        report = swap_checkpoint(job, lambda: make_detector(args), lambda m: print(m, file=sys.stderr))
    except NotAFaceModelError as exc:
        raise UsageError(str(exc)) from None
    skipped = f", skipped {len(report.skipped)} existing" if report.skipped else ""
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in report.stage_seconds.items())
    return report_failures(report.failed, f"wrote {len(report.written)} file(s) to {args.output}{skipped}"
                                          + (f" (busy: {stages})" if stages else ""))


register(Command("faceswap", "swap faces in videos and photos with a trained faceswap checkpoint", _args, _run, _check))
