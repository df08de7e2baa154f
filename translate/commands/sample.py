"""`translate sample`: draw corresponding A/B pairs from a generative (CoGAN) checkpoint.

Each cell of the grid is one noise vector z rendered in both domains, ``G_A(z) | G_B(z)``,
so the grid shows what the coupled generators learnt to put in correspondence. The noise is
drawn from a private seeded generator: the same ``--seed`` gives the same grid.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

from translate.commands import Command, UsageError, add_device_args, register

GAP = 2  # pixels between cells; A and B of a pair touch, so the pairing reads at a glance
BACKGROUND = 255


def _sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a CoGAN run folder or one of its generator_*.safetensors files")
    p.add_argument("--output", required=True, help="grid image to write (.png or .jpg)")
    p.add_argument("--n", type=int, default=64, help="number of A/B pairs (default 64)")
    p.add_argument("--columns", type=int, help="pairs per row (default: about square)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    add_device_args(p)


def pair_grid(a: torch.Tensor, b: torch.Tensor, columns: int) -> np.ndarray:
    """``N x C x H x W`` A and B images in [-1, 1] -> one HxWx3 uint8 grid of ``A|B`` cells."""
    from translate.data import to_image

    def rgb(t: torch.Tensor) -> np.ndarray:
        image = to_image(t)
        return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image

    n, h, w = a.shape[0], a.shape[-2], a.shape[-1]
    rows = math.ceil(n / columns)
    cell_w = 2 * w + GAP
    grid = np.full((rows * (h + GAP) - GAP, columns * cell_w - GAP, 3), BACKGROUND, np.uint8)
    for i in range(n):
        y, x = (i // columns) * (h + GAP), (i % columns) * cell_w
        grid[y:y + h, x:x + w] = rgb(a[i])
        grid[y:y + h, x + w:x + 2 * w] = rgb(b[i])
    return grid


def _sample_run(args: argparse.Namespace) -> int:
    from translate.checkpoint import load_generator
    from translate.data import write_image
    from translate.data.io import is_image_file
    from translate.devices import autocast, configure_threads, resolve_device, resolve_precision

    if args.n < 1:
        raise UsageError(f"--n must be at least 1, got {args.n}")
    if args.columns is not None and args.columns < 1:
        raise UsageError(f"--columns must be at least 1, got {args.columns}")
    if not is_image_file(args.output):
        raise UsageError(f"{args.output}: the grid needs an image extension such as .png or .jpg")
    configure_threads()
    net, spec = load_generator(Path(args.checkpoint))
    if not hasattr(net, "sample"):
        raise UsageError(f"{args.checkpoint}: a {spec.translator or spec.architecture} checkpoint translates images "
                         f"and cannot sample from noise; `translate sample` needs a CoGAN checkpoint")
    device = resolve_device(args.device or "auto")
    dtype = resolve_precision(args.precision or "auto", device)
    net = net.to(device).eval()
    rng = torch.Generator(device=device).manual_seed(args.seed)
    z = torch.randn(args.n, net.generator.latent_dim, generator=rng, device=device)
    with torch.inference_mode(), autocast(device, dtype):
        a, b = net.sample(z)
    columns = args.columns or math.ceil(math.sqrt(args.n))
    grid = pair_grid(a.float().cpu(), b.float().cpu(), columns)
    write_image(Path(args.output), grid)
    print(f"wrote {args.n} A|B pair(s) to {args.output}", file=sys.stderr)
    return 0


register(Command("sample", "draw corresponding A|B pairs from a CoGAN checkpoint into a grid image",
                 _sample_args, _sample_run))
