"""`make demo`: two short training runs for `translate serve`'s runs pages (curves, metrics, samples).

The bundled demo model was trained long ago and ships without its training logs, so this writes
two small runs the way any user's training does (TensorBoard scalars, eval_log.json, sample
images, config.yaml) in about a minute on two CPU cores: pix2pix on a mini copy of the demo
dataset, with a thinner and a wider generator, so the runs table has something to compare.
Runs that already finished are kept.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from translate.cli import main as translate_main  # noqa: E402

RUNS = {"demo_run_ngf8": 8, "demo_run_ngf16": 16}  # run name -> generator width


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoints-dir", default=str(ROOT / "checkpoints"))
    parser.add_argument("--data", default=str(ROOT / "datasets" / "demo_cartoon_mini"))
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "test").is_dir():
        sys.path.insert(0, str(ROOT / "datasets"))
        import make_demo_dataset

        make_demo_dataset.main(["--out", str(data), "--count", "40", "--test-count", "8", "--size", "48",
                                "--samples-dir", ""])
    for name, ngf in RUNS.items():
        if (Path(args.checkpoints_dir) / name / "eval_log.json").exists():
            print(f"demo runs: {name} exists, kept")
            continue
        every = max(args.steps // 3, 1)
        code = translate_main([
            "train", "pix2pix", "--data", str(data), "--name", name, "--checkpoints-dir", args.checkpoints_dir,
            "--size", "32", "--batch-size", "4", "--steps", str(args.steps), "--num-workers", "0",
            "--set", "generator=resnet", "--set", "generator_options={n_blocks: 2, upsample: resize}",
            "--set", f"ngf={ngf}", "--set", "ndf=8", "--set", "norm=instance", "--set", "dropout=false",
            "--set", f"eval_every={every}", "--set", "eval_metrics=[psnr, ssim]", "--set", "log_every=2",
            "--set", f"sample_every={every}", "--set", f"save_every={args.steps}"])
        if code != 0:
            return code
    print(f"demo runs: {', '.join(RUNS)} in {args.checkpoints_dir}; browse them with: translate serve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
