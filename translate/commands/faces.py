"""`translate faces extract`: aligned face crops + masks + alignment JSON from videos and photos."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.choices import EXIT_FAILED
from translate.commands import Command, UsageError, register, report_failures, require_path, require_writable


def add_face_args(p: argparse.ArgumentParser, size_default: int | None = 256, select: bool = True) -> None:
    """Detection, alignment and tracking options shared by `faces extract` and `faceswap` (which
    chooses its face with --face instead of --select)."""
    g = p.add_argument_group("faces")
    if size_default is not None:
        g.add_argument("--crop-size", type=int, default=size_default, help=f"aligned crop side in pixels "
                                                                           f"({size_default}; the training size)")
    g.add_argument("--margin", type=float, default=0.3, help="context around the face as a fraction of a tight "
                                                             "crop (0.3)")
    g.add_argument("--min-score", type=float, default=0.5, help="detector confidence threshold (0.5)")
    g.add_argument("--min-face", type=float, default=0.0, help="ignore faces smaller than this many pixels (0)")
    if select:
        g.add_argument("--select", choices=("largest", "nearest", "index"), default="largest",
                       help="which face to follow when there are several: the largest (default), the one nearest "
                            "to the previous frame's, or --face-index")
        g.add_argument("--face-index", type=int, default=0, help="with --select index: 0 = leftmost face")
    g.add_argument("--mask", choices=("mesh", "hull", "head"), default="mesh",
                   help="face mask outline: mesh (MediaPipe face mesh on the crop, default; the hull where it "
                        "finds nothing), hull (the 6 detector landmarks, with estimated chin and forehead) or "
                        "head (hair, forehead and ears too: selfie segmentation inside the head, hands left out)")


def check_face_args(args: argparse.Namespace) -> None:
    if getattr(args, "crop_size", 256) < 8:
        raise UsageError(f"--crop-size must be >= 8, got {args.crop_size}")
    if args.margin < 0:
        raise UsageError(f"--margin must be >= 0, got {args.margin}")
    if not 0 < args.min_score < 1:
        raise UsageError(f"--min-score must be between 0 and 1, got {args.min_score}")


def make_detector(args: argparse.Namespace):
    from translate.people.faces_detect import build_detector
    from translate.people.mediapipe_compat import PeopleBackendMissing

    try:
        return build_detector("mediapipe", min_score=args.min_score)
    except PeopleBackendMissing as exc:
        raise UsageError(str(exc)) from None


def _faces_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    e = sub.add_parser("extract", help="aligned face crops, masks and alignments from a video, photo or folder",
                       description="Detect the face in every Nth frame (or photo), align it (eyes level at fixed "
                                   "places) and write OUT_DIR/NAME.png, OUT_DIR/masks/NAME.png and "
                                   "OUT_DIR/alignment/NAME.json. Existing crops are skipped.")
    e.add_argument("input", help="a video, a photo, or a folder of both (searched recursively)")
    e.add_argument("out_dir", help="output folder, e.g. datasets/swap/trainA")
    e.add_argument("--every", type=int, default=1, help="use every Nth video frame (1 = all)")
    e.add_argument("--overwrite", action="store_true", help="redo crops that already exist")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_face_args(e)


def _faces_check(args: argparse.Namespace) -> None:
    if args.action != "extract":
        raise UsageError("say what to do: translate faces extract VIDEO_OR_FOLDER OUT_DIR")
    check_face_args(args)
    if args.every < 1:
        raise UsageError(f"--every must be >= 1, got {args.every}")
    require_path(args.input, "input")
    require_writable(args.out_dir)


def _faces_run(args: argparse.Namespace) -> int:
    from translate.people.faces_align import AlignSpec
    from translate.people.faces_extract import ExtractOptions, extract_faces
    from translate.people.faces_track import TrackOptions

    options = ExtractOptions(AlignSpec(args.crop_size, args.margin),
                             TrackOptions(args.select, args.face_index, smoothing=0.0, min_size=args.min_face),
                             args.every, args.overwrite, args.mask)
    with make_detector(args) as detector:
        report = extract_faces(Path(args.input), Path(args.out_dir), detector, options,
                               progress=not args.no_progress)
    skipped = f", skipped {report.skipped} existing" if report.skipped else ""
    code = report_failures(report.failed, f"wrote {report.written} face crop(s) to {args.out_dir}{skipped}; "
                                          f"{report.without_face} sampled frame(s) without a face")
    if code:
        return code
    if report.written + report.skipped == 0:
        print(f"translate faces: error: {args.input}: no face found in any sampled frame", file=sys.stderr)
        return EXIT_FAILED
    return 0


register(Command("faces", "extract aligned face crops and masks from videos and photos", _faces_args, _faces_run,
                 _faces_check))
