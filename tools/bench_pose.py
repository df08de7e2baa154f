"""Pose transfer speed: frames/s of ``translate dance`` split into pose / normalise+render / generate / encode.

The source is the scikit-image astronaut sliding across a ``--size`` square frame (a real
person, so MediaPipe does its normal work); the generator is an untrained pose2frame
pix2pixHD global generator of the preset's width (weights do not change the speed). Figures
are drawn without normalisation (the astronaut shows no ankles). Every stage's time is busy
time in the one dance loop, which runs its stages one after another.

    .venv/bin/python tools/bench_pose.py                          # CPU, 512x512, preset width
    python tools/bench_pose.py --device cuda --frames 120         # on a GPU
    .venv/bin/python tools/bench_pose.py --size 128 --ngf 8 --frames 4   # smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

from translate.apply.model import Model  # noqa: E402
from translate.checkpoint import GeneratorSpec  # noqa: E402
from translate.devices import configure_threads, precision_name  # noqa: E402
from translate.pipelines.dance import DanceOptions, dance  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512, help="frame side in pixels (512)")
    p.add_argument("--frames", type=int, default=24, help="clip length (24)")
    p.add_argument("--ngf", type=int, default=64, help="generator width (64: the pix2pixHD preset)")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = p.parse_args(argv)
    configure_threads()
    from test_poses_extract import astronaut_frames, write_clip

    spec = GeneratorSpec("pix2pixhd_global", 6, 3, {"ngf": args.ngf, "n_downsampling": 4, "n_blocks": 9},
                         {"input": "pose_sequence", "temporal": True}, "pose2frame")
    model = Model(spec.build(), spec, device=args.device, precision=args.precision)
    device, dtype = model.device, model.dtype
    with tempfile.TemporaryDirectory() as tmp:
        src = write_clip(Path(tmp) / "source.mp4", astronaut_frames(args.frames, size=args.size), fps=24)
        result = dance(model, src, Path(tmp) / "out.mp4", DanceOptions(normalise=False, progress=False))
    per_frame = {k: 1000 * v / max(1, result.frames) for k, v in result.seconds.items()}
    row = {"size": args.size, "frames": result.frames, "ngf": args.ngf, "device": str(device),
           "precision": precision_name(dtype), "threads": torch.get_num_threads(), "fps": round(result.fps(), 3),
           "ms_per_frame": {k: round(v, 1) for k, v in per_frame.items()}}
    if args.json:
        print(json.dumps(row))
    else:
        split = " | ".join(f"{k} {v:.1f} ms" for k, v in per_frame.items())
        print(f"dance {args.size}x{args.size}, ngf {args.ngf}, {device} {precision_name(dtype)}, "
              f"{torch.get_num_threads()} threads: {row['fps']} frames/s ({split} per frame)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
