#!/usr/bin/env bash
# The exact commands that made the bundled demo model (run from the repository root).
# Data: 1200 crops at five scales of 17 real photos: scikit-image's colour photos, five of its
# greyscale ones, and five that ship inside installed packages (matplotlib's Grace Hopper;
# gradio's tower, cheetahs and lion); coffee and rocket are held out for the test split.
set -euo pipefail
PHOTOS=astronaut,chelsea,immunohistochemistry,hubble_deep_field,retina,stereo_motorcycle,logo,camera,brick,grass,coins,clock,grace_hopper,tower,cheetah,cheetah_cub,lion
python datasets/make_demo_dataset.py --out datasets/demo_cartoon_rich2 --count 1200 --scales 0.75,1,1.5,2,3 \
  --photos "$PHOTOS" --samples-dir ''
# The toolkit's defaults (residual: auto -> on, its colour map fitted on the training pairs) with a
# small network so the file stays a few MB. One torch thread: on the shared 2-core machine two
# threads spin-wait on each other (tools/BENCHMARKS.md).
OMP_NUM_THREADS=1 python -m translate train pix2pix --data datasets/demo_cartoon_rich2 --name demo_cartoon \
  --size 64 --batch-size 4 --steps 1200 --num-workers 0 \
  --set preprocess=crop --set generator=resnet --set "generator_options={n_blocks: 6, upsample: resize}" \
  --set ngf=24 --set norm=instance --set dropout=false --set ndf=32 --set gan_mode=lsgan \
  --set save_every=250 --set log_every=50
# Held-out scores beside the trivial baselines -> scores.json (shown on make demo's page).
python tools/bench_quality.py --score checkpoints/demo_cartoon --data datasets/demo_cartoon_rich2 \
  --json checkpoints/demo_cartoon/scores.json
