"""Video apply throughput: the streaming pipeline against a naive loop, same clip, same model, same run.

Modes, each over the same generated clip (moving colour pattern + AAC tone):

* ``naive``: the usual script: decode one frame, translate it (batch 1), encode it, repeat.
* ``sequential``: the same loop with ``--batch-size`` frames per forward pass, still one
  thing at a time (separates what batching buys from what concurrency buys).
* ``pipeline``: ``translate.apply.video.translate_video``: decode, model and encode in
  concurrent stages with bounded queues, batched.

Reported: frames/s, the ratio to ``naive`` measured in this run, and where the time goes
(busy milliseconds per frame in decode / model / encode; in the pipeline these overlap,
so they add up to more than the wall time). Every mode is warmed up first (kernels,
allocator) at the clip's size.

    .venv/bin/python tools/bench_video.py                      # CPU: small ResNet, 256x256 and 1280x720
    python tools/bench_video.py --ngf 64 --blocks 9 --frames 200,100   # GPU: the full CycleGAN ResNet-9
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

from translate.apply.frames import FrameTranslator  # noqa: E402
from translate.devices import configure_threads, precision_name, resolve_device, resolve_precision  # noqa: E402
from translate.nets import build_generator  # noqa: E402
from translate.video.encode import VideoWriter  # noqa: E402
from translate.video.io import VideoReader, probe  # noqa: E402
from translate.apply.video import VideoOptions, translate_video  # noqa: E402
from video_clips import make_video  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sequential(src: Path, dst: Path, translator: FrameTranslator, batch: int) -> dict:
    """Decode, translate and encode one after the other (batch 1 is the naive loop)."""
    info = probe(src)
    busy = defaultdict(float)
    start = time.perf_counter()
    writer = VideoWriter(dst, info.time_base, info.fps, src)
    frames = iter(VideoReader(src, (info.width, info.height), info))
    done = False
    count = 0
    while not done:
        group = []
        t = time.perf_counter()
        for frame in frames:
            group.append(frame)
            if len(group) == batch:
                break
        else:
            done = True
        busy["decode"] += time.perf_counter() - t
        if not group:
            break
        t = time.perf_counter()
        outputs = translator([f.image for f in group])
        busy["model"] += time.perf_counter() - t
        t = time.perf_counter()
        for frame, out in zip(group, outputs):
            writer.write(out, frame.pts)
        busy["encode"] += time.perf_counter() - t
        count += len(group)
    t = time.perf_counter()
    writer.close()
    busy["encode"] += time.perf_counter() - t
    return {"frames": count, "seconds": time.perf_counter() - start, "busy": dict(busy)}


def pipeline(src: Path, dst: Path, translator: FrameTranslator, batch: int) -> dict:
    result = translate_video(src, dst, translator, VideoOptions(batch_size=batch), on_message=lambda m: None,
                             progress=False)
    return {"frames": result.frames_out, "seconds": result.seconds, "busy": result.stage_seconds}


def bench_size(width: int, height: int, frames: int, args, device, dtype, workdir: Path) -> list:
    src = make_video(workdir / f"clip_{width}x{height}.mp4", frames=frames, width=width, height=height, fps=30)
    net = build_generator(args.arch, ngf=args.ngf, n_blocks=args.blocks)
    translator = FrameTranslator(net, device, dtype)
    warm = [next(iter(VideoReader(src))).image] * args.batch_size
    for n in (1, args.batch_size):  # kernels and allocator warmed for both batch sizes
        translator(warm[:n])
        translator(warm[:n])
    _sync(device)
    rows = []
    for mode, fn, batch in (("naive", sequential, 1), ("sequential", sequential, args.batch_size),
                            ("pipeline", pipeline, args.batch_size)):
        r = fn(src, workdir / f"out_{mode}_{width}.mp4", translator, batch)
        r.update(mode=mode, size=f"{width}x{height}", batch=batch, fps=r["frames"] / r["seconds"])
        rows.append(r)
    base = rows[0]["fps"]
    for r in rows:
        r["ratio"] = r["fps"] / base
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto")
    p.add_argument("--arch", default="resnet")
    p.add_argument("--ngf", type=int, default=16, help="generator width (64 = CycleGAN's ResNet)")
    p.add_argument("--blocks", type=int, default=6, help="residual blocks (9 = CycleGAN's ResNet-9)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--sizes", default="256x256,1280x720")
    p.add_argument("--frames", default="60,16", help="frames per clip, one number per size")
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()
    configure_threads()
    device = resolve_device(args.device)
    dtype = resolve_precision(args.precision, device)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    counts = [int(n) for n in args.frames.split(",")]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# video apply: {args.arch} ngf={args.ngf} blocks={args.blocks}, {where}, {precision_name(dtype)}, "
          f"torch {torch.__version__}")
    print("| size | mode | batch | frames | frames/s | vs naive | decode ms/f | model ms/f | encode ms/f |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (w, h), n in zip(sizes, counts):
            for r in bench_size(w, h, n, args, device, dtype, Path(tmp)):
                rows.append(r)
                ms = {k: 1000 * r["busy"].get(k, 0.0) / r["frames"] for k in ("decode", "model", "encode")}
                print(f"| {r['size']} | {r['mode']} | {r['batch']} | {r['frames']} | {r['fps']:.2f} | "
                      f"{r['ratio']:.2f}x | {ms['decode']:.1f} | {ms['model']:.1f} | {ms['encode']:.1f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
