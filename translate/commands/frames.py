"""`translate frames extract|assemble`: videos to folders of frames and back."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.commands import (Command, UsageError, frame_rate, register, report_problems, require_file,
                                require_folder, require_writable)


def _frames_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    e = sub.add_parser("extract", help="write a video's frames as images (e.g. to build a training set)",
                       description="Write every Nth frame of a video as <stem>_<frame index>.png into a folder.")
    e.add_argument("video", help="input video file")
    e.add_argument("folder", help="output folder (created if missing)")
    e.add_argument("--every", type=int, default=1, help="keep every Nth frame (1 = all)")
    e.add_argument("--max-size", type=int, help="shrink frames so the long side is at most this many pixels")
    e.add_argument("--format", choices=("png", "jpg"), default="png", help="image format (png)")
    e.add_argument("--limit", type=int, help="stop after this many frames")
    a = sub.add_parser("assemble", help="encode a folder of frames into a video",
                       description="Encode a folder of images (natural name order: 2 before 10) into a video.")
    a.add_argument("folder", help="folder of frames (all the size of the first; others are skipped and reported)")
    a.add_argument("output", help="output video (.mp4 .mov .mkv .avi .webm)")
    a.add_argument("--fps", type=frame_rate, default=frame_rate("30"),
                   help="frame rate (30; 29.97 or 30000/1001 also work)")
    a.add_argument("--audio-from", help="copy the audio track of this file (cut at the video's end)")
    a.add_argument("--codec", help="video encoder (default: libx264, or VP9 for .webm)")
    a.add_argument("--crf", type=int, default=18, help="encoder quality, lower is better (18)")


def _report(report, what: str) -> int:
    problems = [reason for _, reason in report.failed] + ([report.problem] if report.problem else [])
    return report_problems(problems, f"wrote {report.written} {what}")


def _extract_check(args: argparse.Namespace) -> None:
    if args.every < 1 or (args.max_size is not None and args.max_size < 1):
        raise UsageError("--every and --max-size must be positive")
    require_file(args.video, "video")
    require_writable(args.folder)


def _extract(args: argparse.Namespace) -> int:
    from translate.apply.stills import extract_frames

    report = extract_frames(Path(args.video), Path(args.folder), args.every, args.max_size, args.format, args.limit)
    if report.problem:
        report.problem = f"{args.video}: {report.problem}"
    return _report(report, f"frame(s) to {args.folder}")


def _assemble_check(args: argparse.Namespace) -> None:
    require_folder(args.folder, "folder")
    require_file(args.audio_from, "--audio-from")
    require_writable(args.output)


def _assemble(args: argparse.Namespace) -> int:
    from translate.apply.stills import assemble_frames

    say = lambda message: print(message, file=sys.stderr)  # noqa: E731
    audio = Path(args.audio_from) if args.audio_from else None
    report = assemble_frames(Path(args.folder), Path(args.output), args.fps, audio, args.codec, args.crf, say)
    return _report(report, f"frame(s) to {args.output}")


ACTIONS = {"extract": (_extract_check, _extract), "assemble": (_assemble_check, _assemble)}


def _frames_check(args: argparse.Namespace) -> None:
    if args.action not in ACTIONS:
        raise UsageError("say what to do: translate frames extract VIDEO FOLDER | assemble FOLDER OUTPUT --fps N")
    ACTIONS[args.action][0](args)


def _frames_run(args: argparse.Namespace) -> int:
    return ACTIONS[args.action][1](args)


register(Command("frames", "extract a video's frames as images, or assemble images into a video", _frames_args,
                 _frames_run, _frames_check))
