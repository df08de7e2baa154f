"""`translate poses extract|render`: pose keypoints from video, stick figures from keypoints."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Tuple

from translate.choices import EXIT_FAILED
from translate.commands import (Command, UsageError, register, report_problems, require_file, require_folder,
                                require_writable)


def _size(value: str) -> Tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 512x512, got {value!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {value!r}")
    return w, h


def add_figure_args(p: argparse.ArgumentParser) -> None:
    """Figure and smoothing options shared by extract, render and dance."""
    p.add_argument("--figure", default="coco18", help="skeleton the figures are drawn in: coco18 (default), body25 "
                                                     "(with feet), body25_hands (feet and fingers: hands are found "
                                                     "too), body25_hands_face (feet, fingers and OpenPose's 70 face "
                                                     "points, Everybody Dance Now's figure: faces are found too), "
                                                     "body25_face (feet and face) or mediapipe33")
    p.add_argument("--figure-mode", choices=("colour", "labels"), default="colour",
                   help="colour: one RGB figure (default); labels: one channel per limb (saved as .npy)")
    p.add_argument("--min-confidence", type=float, default=0.3, help="joints below this confidence are not drawn")
    p.add_argument("--thickness", type=int, help="limb width in pixels (default: frame height / 64)")
    p.add_argument("--smooth", type=int, default=5, help="median window in frames, odd (1 = no smoothing; 5)")


def add_seen_args(p: argparse.ArgumentParser, visibility_default: str) -> None:
    """What counts as seen, for commands that estimate poses (extract, dance)."""
    p.add_argument("--min-visibility", type=float,
                   help=f"joints the estimator sees less surely than this (MediaPipe visibility, 0..1) are left out: "
                        f"not drawn, not measured, confidence 0 in keypoints ({visibility_default})")
    p.add_argument("--hold-last", action="store_true",
                   help="frames where nobody is seen repeat the last pose's figure (default: an empty figure; "
                        "either way their frame numbers are reported)")


def add_people_args(p: argparse.ArgumentParser, flag: str, whose: str) -> None:
    """Which person, for commands that estimate poses: everyone is found and numbered; one is used."""
    p.add_argument(flag, default="largest", metavar="ID|largest|centre",
                   help=f"{whose}: the person with this ID (IDs are drawn in the preview and written in the "
                        f"keypoint files), the largest over the clip (default) or the one nearest the centre")
    p.add_argument("--scan-every", type=int, default=30,
                   help="frames between searches of the whole frame for people walking in (30; 1 = every "
                        "frame, slowest); people already found are followed in every frame")
    p.add_argument("--min-seconds", type=float, default=0.2,
                   help="a person must be seen this long without a break (0.2 s: 5 frames at 25 fps); people "
                        "seen for less are taken for the detector's mistakes (a fence, a reflection) and left "
                        "out; 0 keeps every detection")


def person_choice(text: str, flag: str = "--person"):
    from translate.people.poses.choose import PersonChoice

    try:
        return PersonChoice.parse(text, flag)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def figure_style(args: argparse.Namespace):
    from translate.people.poses.render import FigureStyle

    return FigureStyle(args.figure, args.figure_mode, args.min_confidence, args.thickness)


def _poses_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    r = sub.add_parser("render", help="draw stick figures from keypoint files (OpenPose *_keypoints.json too)",
                       description="Draw one stick figure per *_keypoints.json file (OpenPose BODY_25 / COCO-18 or "
                                   "MediaPipe-33, recognised by joint count) as <frame>.png. Keypoints are smoothed "
                                   "over the files in name order, which is frame order for OpenPose's names.")
    r.add_argument("keypoints", help="folder of *_keypoints.json files")
    r.add_argument("figures", help="output folder (created if missing)")
    r.add_argument("--size", type=_size, help="canvas WIDTHxHEIGHT for files without 'canvas_size' "
                                              "(OpenPose's own files have none)")
    add_figure_args(r)
    _extract_args(sub)


def _extract_args(sub) -> None:
    e = sub.add_parser("extract", help="video -> frames + stick figures + keypoints (pose2frame training pairs)",
                       description="Estimate every person's pose in every frame of a video (MediaPipe, offline), "
                                   "number the people so each keeps an ID, and write a pose2frame dataset for one "
                                   "of them (--person): DATASET/train_A/ figures, train_B/ frames, keypoints/ "
                                   "OpenPose JSON of everyone with their IDs, pose_stats.json (normalisation "
                                   "statistics), figure.json (style), people.png (everyone with their ID, the "
                                   "chosen person marked).")
    e.add_argument("video", help="video of the target person")
    e.add_argument("dataset", help="dataset folder to create (must not hold a dataset already)")
    e.add_argument("--every", type=int, default=1, help="keep every Nth frame (1 = all; temporal training uses "
                                                        "consecutive kept frames)")
    e.add_argument("--max-size", type=int, help="shrink frames so the long side is at most this many pixels")
    e.add_argument("--limit", type=int, help="stop after this many frames")
    e.add_argument("--detection-confidence", type=float, default=0.5, help="MediaPipe's person threshold (0.5)")
    add_people_args(e, "--person", "whose figures are made")
    add_seen_args(e, "0.5, as MediaPipe's own drawing")
    add_figure_args(e)


def _render(args: argparse.Namespace) -> int:
    from translate.people.poses.smoothing import SmoothingOptions
    from translate.pipelines.pose_render import render_keypoints

    report = render_keypoints(Path(args.keypoints), Path(args.figures), figure_style(args),
                              SmoothingOptions(args.smooth, args.min_confidence), args.size)
    return report_problems(report.failed, f"wrote {report.written} figure(s) to {report.output}")


def _extract(args: argparse.Namespace) -> int:
    from translate.pipelines.pose_dataset import ExtractOptions, extract_dataset

    seen = {} if args.min_visibility is None else {"min_visibility": args.min_visibility}
    options = ExtractOptions(every=args.every, max_size=args.max_size, limit=args.limit, style=figure_style(args),
                             smooth=args.smooth, detection_confidence=args.detection_confidence,
                             hold_last=args.hold_last, person=person_choice(args.person),
                             scan_every=args.scan_every, min_seconds=args.min_seconds, **seen)
    report = extract_dataset(Path(args.video), Path(args.dataset), options)
    print(report.summary(), file=sys.stderr)
    return EXIT_FAILED if report.problem else 0


def _render_check(args: argparse.Namespace) -> None:
    require_folder(args.keypoints, "keypoints")
    require_writable(args.figures)


def _extract_check(args: argparse.Namespace) -> None:
    if args.every < 1 or (args.max_size is not None and args.max_size < 1) or (args.limit is not None and args.limit < 1):
        raise UsageError("--every, --max-size and --limit must be positive")
    if args.scan_every < 1:
        raise UsageError("--scan-every must be at least 1 frame")
    if not 0 <= args.min_seconds <= 60:
        raise UsageError(f"--min-seconds must be between 0 and 60, got {args.min_seconds:g}")
    person_choice(args.person)
    if args.figure_mode != "colour":
        raise UsageError("extract writes colour figures (pose2frame reads RGB conditions); for label maps run "
                         "translate poses render --figure-mode labels on its keypoints/")
    require_file(args.video, "video")
    require_writable(args.dataset)


ACTIONS = {"render": (_render_check, _render), "extract": (_extract_check, _extract)}


def _poses_check(args: argparse.Namespace) -> None:
    if args.action not in ACTIONS:
        raise UsageError("say what to do: translate poses extract VIDEO DATASET | render KEYPOINTS FIGURES")
    ACTIONS[args.action][0](args)


def _poses_run(args: argparse.Namespace) -> int:
    return ACTIONS[args.action][1](args)


register(Command("poses", "body poses: extract pose2frame training pairs from video, draw stick figures",
                 _poses_args, _poses_run, _poses_check))
