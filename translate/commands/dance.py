"""`translate dance`: make the target person of a pose2frame checkpoint do a source video's moves."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from translate.choices import EXIT_FAILED
from translate.commands import (Command, UsageError, add_device_args, register, require_file, require_path,
                                require_writable)
from translate.commands.poses import add_people_args, add_seen_args, person_choice


def _dance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a pose2frame run folder (checkpoints/NAME) or its generator "
                                                       ".safetensors")
    p.add_argument("--source", required=True, help="video of someone dancing (any person, any framing)")
    p.add_argument("--output", required=True, help="output video (.mp4 .mov .mkv .webm); the source's audio is kept")
    p.add_argument("--side-by-side", action="store_true", help="write source | stick figure | result")
    p.add_argument("--no-normalise", action="store_true",
                   help="draw the source poses where they are (only rescaled to the target's frame size) instead of "
                        "mapping them into the target's framing")
    p.add_argument("--target-stats", help="pose_stats.json of the target (default: the one saved in the checkpoint "
                                          "from its dataset)")
    p.add_argument("--source-stats", help="the source's framing statistics (JSON): read if the file exists, so a "
                                          "run can be repeated or corrected by hand; else measured and saved there")
    p.add_argument("--size", type=int, help="long side of the generated frames (default: the target's frame size)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="accepted as in translate apply; frames are generated one at a time because each is "
                        "conditioned on the previous output")
    p.add_argument("--codec", help="video encoder (default: libx264, or VP9 for .webm)")
    p.add_argument("--crf", type=int, default=18, help="encoder quality, lower is better (18)")
    add_people_args(p, "--source-person", "who in the source dances (the target is the person the "
                                          "checkpoint's dataset was made of: poses extract --person)")
    p.add_argument("--preview", help="write a PNG of the source's people with their IDs, the chosen one marked")
    add_seen_args(p, "default: the value the checkpoint's figures were made with, else 0.5")
    add_device_args(p)


def _dance_check(args: argparse.Namespace) -> None:
    if args.batch_size < 1 or (args.size is not None and args.size < 2):
        raise UsageError("--batch-size must be >= 1 and --size >= 2")
    require_path(args.checkpoint, "--checkpoint")
    require_file(args.source, "--source")
    require_file(args.target_stats, "--target-stats")
    if Path(args.output).resolve() == Path(args.source).resolve():
        raise UsageError(f"--output {args.output} is the source video; choose another file")
    require_writable(args.output)
    if args.preview:
        require_writable(args.preview)
    if args.scan_every < 1:
        raise UsageError("--scan-every must be at least 1 frame")
    if not 0 <= args.min_seconds <= 60:
        raise UsageError(f"--min-seconds must be between 0 and 60, got {args.min_seconds:g}")
    person_choice(args.source_person, "--source-person")


def _dance_run(args: argparse.Namespace) -> int:
    from translate.pipelines.dance import DanceOptions, dance_checkpoint

    say = lambda message: print(message, file=sys.stderr)  # noqa: E731
    options = DanceOptions(normalise=not args.no_normalise, side_by_side=args.side_by_side, size=args.size,
                           target_stats=Path(args.target_stats) if args.target_stats else None,
                           source_stats=Path(args.source_stats) if args.source_stats else None, codec=args.codec,
                           crf=args.crf, hold_last=args.hold_last, min_visibility=args.min_visibility,
                           source_person=person_choice(args.source_person, "--source-person"),
                           scan_every=args.scan_every, min_seconds=args.min_seconds, preview=Path(args.preview) if args.preview else None)
    result = dance_checkpoint(Path(args.checkpoint), Path(args.source), Path(args.output), options, args.device,
                              args.precision, say)
    split = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    say(f"wrote {result.frames} frame(s) to {args.output} ({result.fps():.1f} frames/s overall: {split})")
    if result.people:
        say(result.people + (f" (preview: {args.preview})" if args.preview else ""))
    if result.nobody.count:
        say(result.nobody.summary())
    if result.problem:
        say(f"problem: {result.problem}")
        return EXIT_FAILED
    return 0


register(Command("dance", "pose transfer: a pose2frame checkpoint's person does a source video's moves",
                 _dance_args, _dance_run, _dance_check))
