#!/usr/bin/env bash
# The exact command that trained the bundled demo model (run from the repository root,
# after `python datasets/make_demo_dataset.py` has written datasets/demo_cartoon/).
set -euo pipefail
translate train pix2pix --data datasets/demo_cartoon --name demo_cartoon --size 112 --batch-size 4 --steps 6000 --num-workers 1 \
  --set preprocess=crop --set generator=resnet --set "generator_options={n_blocks: 6, upsample: resize}" --set ngf=24 \
  --set norm=instance --set dropout=false --set ndf=32 --set gan_mode=lsgan --set save_every=500 --set log_every=50
