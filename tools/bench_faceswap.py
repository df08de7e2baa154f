"""Speed of `translate faceswap` on a 720p clip, split by stage, against a naive per-frame loop.

    python tools/bench_faceswap.py [--frames 48] [--crop-size 128] [--batch-size 8] [--device auto]
                                   [--precision auto] [--width 1280 --height 720] [--tiny] [--json OUT]

The clip is made here: scikit-image's astronaut portrait (a real face) drifting and growing
over a gradient, H.264 with an AAC tone, so the audio path is exercised too. The generator
is the faceswap preset's (``unet_128``, instance norm), randomly initialised: speed does not
depend on the weights; ``--tiny`` shrinks it for a quick check.

Two runs over the same clip, in this process, one after the other:

* pipeline: ``translate_video`` with a ``FaceSwapper`` (what ``translate faceswap`` runs):
  decode and encode in their own threads, crops batched ``--batch-size`` at a time. The
  split is each stage's busy time: detect / align / translate / blend from the swapper,
  decode / encode from the pipeline (these overlap the others, so they need not add up);
* naive: decode, detect, align, translate one crop, blend and encode, one frame at a time,
  in one thread.

The ratio is naive wall time / pipeline wall time.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_clip(path: Path, frames: int, width: int, height: int, fps: int = 24) -> Path:
    import av
    import cv2
    import skimage.data

    portrait = skimage.data.astronaut()[20:260, 120:340]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.stack([60 + 40 * xs / width, 80 + 30 * ys / height, 120 + 0 * xs], -1).astype(np.uint8)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        a = out.add_stream("aac", rate=44100)
        a.layout = "mono"
        for i in range(frames):
            frame = background.copy()
            scale = height / 400 * (1 + 0.005 * i)
            face = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x, y = width // 4 + 3 * i, height // 10
            fh, fw = min(face.shape[0], height - y), min(face.shape[1], width - x)
            frame[y:y + fh, x:x + fw] = face[:fh, :fw]
            for packet in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        n = int(44100 * frames / fps)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 44100)).astype(np.float32)
        resampler = av.AudioResampler(format=a.codec_context.format.name, layout="mono", rate=44100,
                                      frame_size=a.codec_context.frame_size)
        for start in range(0, n, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, start
            for f in resampler.resample(chunk):
                for packet in a.encode(f):
                    out.mux(packet)
        for f in resampler.resample(None):
            for packet in a.encode(f):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    return path


def build_net(tiny: bool):
    from translate.nets import build_generator
    from translate.translators.faceswap import FaceSwapOptions

    o = FaceSwapOptions()
    if tiny:
        return build_generator("unet", in_channels=3, out_channels=3, ngf=4, norm=o.norm, num_downs=5)
    return build_generator(o.generator, in_channels=3, out_channels=3, ngf=o.ngf, norm=o.norm)


def _first_frames(clip: Path, count: int):
    from translate.video.io import VideoReader

    frames = []
    for frame in VideoReader(clip):
        frames.append(frame.image)
        if len(frames) == count:
            break
    return frames


def naive(clip: Path, out: Path, swapper_factory) -> float:
    """Decode, swap and encode one frame at a time in one thread."""
    from translate.video.encode import VideoWriter
    from translate.video.io import VideoReader, probe

    info = probe(clip)
    swapper = swapper_factory()
    start = time.perf_counter()
    writer = VideoWriter(out, info.time_base, info.fps, clip, None, 18, lambda m: None)
    for frame in VideoReader(clip, None, info):
        writer.write(swapper([frame.image])[0], frame.pts)
    writer.close()
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--crop-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--tiny", action="store_true", help="a tiny generator: checks the tool, not the speed")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)

    import torch

    from translate.apply.model import Model
    from translate.devices import configure_threads, precision_name
    from translate.people.faces_align import AlignSpec
    from translate.people.faces_detect import MediaPipeFaceDetector
    from translate.pipelines.faceswap import FaceSwapper, SwapOptions
    from translate.apply.video import VideoOptions, translate_video

    configure_threads()
    net = build_net(args.tiny)
    # Crops go through the inference object the faceswap command uses (whole crops: they fit).
    model = Model.of_network(net, size_multiple=net.size_multiple, device=args.device, precision=args.precision)
    device, dtype = model.device, model.dtype
    with tempfile.TemporaryDirectory() as tmp, MediaPipeFaceDetector() as detector:
        tmp = Path(tmp)
        clip = make_clip(tmp / "clip.mp4", args.frames, args.width, args.height)

        def factory():
            return FaceSwapper(model, detector, SwapOptions(AlignSpec(args.crop_size)))

        # Warm-up: first calls at a new shape pay for kernel selection (oneDNN, cuDNN), not for work.
        for frames in (args.batch_size, 1):
            warm = factory()
            warm(_first_frames(clip, frames))
        swapper = factory()
        start = time.perf_counter()
        result = translate_video(clip, tmp / "pipeline.mp4", swapper, VideoOptions(batch_size=args.batch_size),
                                 lambda m: None, progress=False)
        pipeline_s = time.perf_counter() - start
        naive_s = naive(clip, tmp / "naive.mp4", factory)
    stages = dict(swapper.stats.seconds)
    stages.update(decode=result.stage_seconds.get("decode", 0.0), encode=result.stage_seconds.get("encode", 0.0))
    report = {
        "device": str(device), "precision": precision_name(dtype), "threads": torch.get_num_threads(),
        "frames": result.frames_out, "size": f"{args.width}x{args.height}", "crop": args.crop_size,
        "batch_size": args.batch_size, "tiny": args.tiny, "faces_swapped": swapper.stats.swapped,
        "pipeline_frames_per_s": round(result.frames_out / pipeline_s, 2),
        "naive_frames_per_s": round(result.frames_out / naive_s, 2),
        "speedup_vs_naive": round(naive_s / pipeline_s, 2),
        "stage_seconds": {k: round(v, 3) for k, v in stages.items()},
    }
    print(json.dumps(report, indent=1))
    if args.json:
        from translate.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
