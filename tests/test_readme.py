"""Every command and snippet of README.md runs here, as written plus flags that make it small.

TABLE below has one entry per README command (and per python/yaml block): its key is the README
text, its `run` what is actually run (the README's words with small, fast substitutions: tiny
datasets and networks, one step), and `why` says why anything differs. A README command
without an entry fails test_every_readme_command_has_an_entry, so a new one cannot go
untested; an entry whose command left the README fails too.

Each command runs in its own working folder (a "stage", tests/readme_world.py) that looks like
the repository root: datasets/ and checkpoints/ are shared by all stages, so a command that
needs a run made by an earlier README command (`needs`) finds it there, as a reader following
the README would. `translate ...` runs in-process through translate.cli.main (fast); a
subprocess only where the README shows something a process is needed for (torchrun, a shell
script, a server).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import io
import os
import re
import runpy
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

import readme_world
from readme_world import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV_BIN = Path(sys.executable).parent

# One training step of a tiny network on 32 px crops: checks the command, not the model.
FAST = "--steps 1 --size 32 --num-workers 0 --set tensorboard=false"
TINY_CYCLEGAN = ("--set ngf=4 --set ndf=4 --set generator=resnet --set 'generator_options={n_blocks: 1}' "
                 "--set n_layers_d=2")
TINY_PIX2PIX = ("--set ngf=4 --set ndf=4 --set generator=unet --set 'generator_options={num_downs: 5}' "
                "--set n_layers_d=2")
TINY_HD = ("--set ngf=8 --set ndf=4 --set n_downsample_global=2 --set n_blocks_global=1 --set n_blocks_local=1 "
           "--set n_layers_d=2 --set lambda_perceptual=0")
TINY_FACESWAP = TINY_PIX2PIX + " --set n_layers_d2=1"
# train-hd counts epochs, not steps; one of each stage.
HD_EPOCHS = "--global-epochs 1 --local-epochs 1 --fix-global-epochs 0 --num-workers 0 --set tensorboard=false"


@dataclass(frozen=True)
class Entry:
    """How one README command is run here.

    how: "in-process" (translate.cli.main, or a script's __main__ via runpy, in this process),
    "subprocess" (a real process: torchrun), "shell" (bash, for a README line that is a shell
    feature), "serve" (a server started, its page fetched, stopped), "make" (a Makefile target:
    its recipe is compared with what README says it does; its Python entry points run in `run`),
    "python" (a README python block, executed), "file" (a README yaml block, written and used by
    the entry in `needs`).
    """

    how: str
    run: str = ""  # the command(s) actually run, one per line; {port}, {mirror} and {stage} are filled in
    why: str = ""  # why `run` differs from the README, or how the entry is covered otherwise
    outputs: Tuple[str, ...] = ()  # paths (relative to the stage) that must exist afterwards
    inputs: Tuple[str, ...] = ()  # readme_world.INPUTS the stage gets first
    needs: Tuple[str, ...] = ()  # README keys whose runs make what this one reads
    checkpoints: str = "shared"  # "shared", "own" (the demo models only) or "empty"
    code: int = 0  # expected exit code
    stderr: Tuple[str, ...] = ()  # text that must appear on stderr
    recipe: Tuple[str, ...] = ()  # "make": the target's recipe lines, comments left out
    same_as: str = ""  # another key whose run is this one too (the same program and arguments)


DOWNLOAD = "translate download horse2zebra"
TRAIN_H2Z = ("torchrun --nproc_per_node 4 -m translate train cyclegan --data datasets/horse2zebra --name h2z "
             "--batch-size 2")
TRAIN_FACADES = "translate train pix2pix --data datasets/facades --name facades --direction BtoA"
TRAIN_CONFIG = ("translate train cyclegan --data datasets/horse2zebra --name small --config cyclegan_small.yaml "
                "--set lr=1e-4")
TRAIN_COGAN = "translate train cogan --data datasets/faces --name co"
TRAIN_CUT = "translate train cut --data datasets/horse2zebra --name h2z_cut"
TINY_CUT = TINY_CYCLEGAN + " --set num_patches=16 --set projection_channels=8"
FACES_A = "translate faces extract person_a.mp4 datasets/swap/trainA --every 5 --crop-size 128"
FACES_B = "translate faces extract person_b_photos/ datasets/swap/trainB --crop-size 128"
TRAIN_FACESWAP = "translate train faceswap --data datasets/swap --name a2b --size 128 --set load_size=128"
POSES = "translate poses extract target.mp4 datasets/dancer"
TRAIN_DANCER = "translate train pose2frame --data datasets/dancer --name dancer --set preprocess=none"
TRAIN_LABEL2CITY = "translate train pix2pixhd --data datasets/cityscapes_like --name label2city"
TRAIN_STYLES = "translate train pix2pixhd --data datasets/cityscapes_like --name label2city_styles --set features=instance"
MAKE_DEMO_DATASET = ".venv/bin/python datasets/make_demo_dataset.py"
DEMO = ".venv/bin/python tools/demo.py --pictures docs/images"
BENCH_QUALITY = "python tools/bench_quality.py"
BENCH_WHY = "{stage}/: absolute paths, so the files land in the stage whatever folder the tool runs from"
LOCAL_CKPT = "--checkpoints-dir runs"
LOCAL_WHY = ("--checkpoints-dir runs: another README command makes a run of the same name (README shows "
             "alternatives); this one writes beside its stage so both can be checked")

PYTHON_BLOCK = next(body for lang, body in readme_world.readme_blocks(README) if lang == "python")
YAML_BLOCK = next(body for lang, body in readme_world.readme_blocks(README) if lang == "yaml")
# The python block as run: no CUDA here, and a one-step run of tiny networks instead of 20000 steps.
PYTHON_SUBSTITUTIONS = (
    ('g.to("cuda", precision="bf16")', 'g.to("cuda" if torch.cuda.is_available() else "cpu", precision="bf16")'),
    ('steps=20000', 'steps=1'),
    ('set={"lambda_cycle": 5}, size=128)',
     'set={"lambda_cycle": 5, "ngf": 4, "ndf": 4, "generator": "resnet", "generator_options": {"n_blocks": 1}, '
     '"n_layers_d": 2, "tensorboard": False}, size=32, num_workers=0)'),
)

# Small settings appended to each program checkpoints/demo_*/train.sh starts (argparse: the
# last value of a flag wins), by a `python` placed first on PATH.
TRAIN_SH_SHIM = f"""#!/usr/bin/env bash
# test_readme.py: the demo's train.sh with small settings; everything else as the script says.
case "$1" in
  datasets/make_demo_dataset.py) extra=(--count 4 --test-count 2 --size 32) ;;
  -m) extra=(--steps 2 --size 32 --set ngf=4 --set ndf=4 --set "generator_options={{n_blocks: 1, upsample: resize}}") ;;
  *) extra=() ;;
esac
exec {sys.executable} "$@" "${{extra[@]}}"
"""
TRAIN_SH_WHY = ("bash runs the script as written, with a `python` first on PATH that appends small settings "
                "(4 training pairs of 32 px, 2 steps of a ResNet with ngf 4) to each program the script starts; "
                "in a stage whose checkpoints/ is empty, so the bundled model is not overwritten")

TABLE: Dict[str, Entry] = {
    # --- Two commands -----------------------------------------------------------------------
    "make demo": Entry(
        "make", recipe=("$(BIN)/python tools/demo.py --out demo_out", "$(BIN)/python tools/demo_runs.py"),
        run=".venv/bin/python tools/demo_runs.py --checkpoints-dir checkpoints --data datasets/facades --steps 3",
        needs=(DEMO,),
        why="make is not run inside pytest (it installs into .venv); its recipe is checked and its two programs "
            "run: demo.py by the README command that needs it anyway (it writes demo_out/ as the recipe does, "
            "from the bundled models and samples), demo_runs.py with 3 steps on a tiny dataset and its runs in "
            "the stage (by default it writes into the checkout's checkpoints/)",
        checkpoints="own",
        outputs=("checkpoints/demo_run_ngf8/eval_log.json", "checkpoints/demo_run_ngf16/eval_log.json")),
    "make test": Entry(
        "make", recipe=("bash tools/ensure_chromium.sh", "$(BIN)/python -m pytest -q"),
        why="the test suite itself: running it inside the suite would recurse; its recipe is checked"),
    "source .venv/bin/activate": Entry(
        "shell", run="source .venv/bin/activate && command -v translate && translate --version",
        why="activation puts .venv/bin on PATH: the `translate` of the next command is found there"),
    "translate serve": Entry(
        "serve", run="translate serve --port {port}",
        why="--port: a free port, not 7860, so a test run never collides with a running server"),

    # --- Use it from Python ---------------------------------------------------------------------
    PYTHON_BLOCK: Entry(
        "python", inputs=("photos/", "in.mp4"), checkpoints="own",
        run="the block with `image` = photos/p0.jpg read by PIL, and: "
            + "; ".join(f"{a!r} -> {b!r}" for a, b in PYTHON_SUBSTITUTIONS),
        why="no GPU in CI; one training step of tiny networks instead of 20000",
        outputs=("out.mp4", "cartoons/p0.jpg", "cartoons/p1.jpg", "checkpoints/h2z/generator_BtoA.safetensors")),

    # --- Train ----------------------------------------------------------------------------------
    "translate train cyclegan --data datasets/horse2zebra --name h2z": Entry(
        "in-process", f"translate train cyclegan --data datasets/horse2zebra --name h2z {LOCAL_CKPT} "
                      f"{FAST} {TINY_CYCLEGAN}",
        why=LOCAL_WHY + " (the torchrun command below)",
        outputs=("runs/h2z/translate.json", "runs/h2z/generator_BtoA.safetensors",
                 "runs/h2z/config.yaml", "runs/h2z/training_state.pt")),
    TRAIN_FACADES: Entry(
        "in-process", f"{TRAIN_FACADES} {FAST} {TINY_PIX2PIX}",
        outputs=("checkpoints/facades/translate.json", "checkpoints/facades/config.yaml")),
    "translate train pix2pix --data datasets/my_paired --name mine --steps 20000 --batch-size 4": Entry(
        "in-process", f"translate train pix2pix --data datasets/my_paired --name mine --steps 20000 --batch-size 4 "
                      f"{FAST} {TINY_PIX2PIX}",
        why="--steps 1 after README's --steps 20000 (the last one wins)",
        outputs=("checkpoints/mine/generator_AtoB.safetensors",)),
    "translate train cyclegan --data datasets/horse2zebra --set lamda_cycle=5": Entry(
        "in-process", "translate train cyclegan --data datasets/horse2zebra --set lamda_cycle=5", code=1,
        why="README shows its output: stderr must be that line exactly (test_console_output_is_what_readme_shows)"),
    YAML_BLOCK: Entry(
        "file", needs=(TRAIN_CONFIG,),
        why="written as cyclegan_small.yaml into the stage of the --config command, which trains with it"),
    TRAIN_CONFIG: Entry(
        "in-process", f"{TRAIN_CONFIG} --steps 1 --size 32 --batch-size 1 --num-workers 0 --set tensorboard=false "
                      "--set ngf=4 --set ndf=4",
        inputs=("cyclegan_small.yaml",),
        why="command-line flags over the YAML file's size 128 and batch 4; its generator, GAN mode and SSIM kept",
        outputs=("checkpoints/small/config.yaml",)),
    TRAIN_H2Z: Entry(
        "subprocess", "torchrun --nproc_per_node 2 --master_port {port} -m translate train cyclegan --data datasets/horse2zebra "
                      f"--name h2z --batch-size 2 --device cpu --precision fp32 {FAST} {TINY_CYCLEGAN}",
        why="2 processes on CPU (gloo) instead of 4 GPUs (NCCL): what CI has",
        outputs=("checkpoints/h2z/generator_AtoB.safetensors", "checkpoints/h2z/generator_BtoA.safetensors")),

    # --- Apply ----------------------------------------------------------------------------------
    "translate apply --checkpoint checkpoints/h2z --input photos/ --output zebras/": Entry(
        "in-process", "translate apply --checkpoint checkpoints/h2z --input photos/ --output zebras/",
        inputs=("photos/",), needs=(TRAIN_H2Z,), outputs=("zebras/p0.jpg", "zebras/p1.jpg")),
    "translate apply --checkpoint checkpoints/h2z --input zebras/ --output horses/ --direction BtoA": Entry(
        "in-process", "translate apply --checkpoint checkpoints/h2z --input zebras/ --output horses/ --direction BtoA",
        inputs=("zebras/",), needs=(TRAIN_H2Z,), outputs=("horses/p0.jpg",)),
    "translate apply --checkpoint checkpoints/demo_cartoon/generator_AtoB.safetensors --input me.jpg --output me_cartoon.png":
        Entry("in-process", "translate apply --checkpoint checkpoints/demo_cartoon/generator_AtoB.safetensors "
                            "--input me.jpg --output me_cartoon.png", inputs=("me.jpg",), outputs=("me_cartoon.png",)),

    # --- Try it in the browser ------------------------------------------------------------------
    "translate serve --checkpoint checkpoints/h2z --checkpoint ~/Downloads/latest_net_G_A.pth --port 8000": Entry(
        "serve", "translate serve --checkpoint checkpoints/h2z --checkpoint ~/Downloads/latest_net_G_A.pth --port {port}",
        inputs=("~/Downloads/latest_net_G_A.pth",), needs=(TRAIN_H2Z,),
        why="a free port instead of 8000; ~ is the stage's home/"),
    "translate serve --host 0.0.0.0 --auth user:secret": Entry(
        "serve", "translate serve --host 0.0.0.0 --auth user:secret --port {port}",
        stderr=("warning: --host 0.0.0.0 makes this page reachable by other machines",),
        why="a free port instead of 7860"),

    # --- DiscoGAN and CoGAN ---------------------------------------------------------------------
    "translate train discogan --data datasets/shoes_bags --name disco": Entry(
        "in-process", f"translate train discogan --data datasets/shoes_bags --name disco {FAST} --set ngf=4 --set ndf=4",
        outputs=("checkpoints/disco/generator_BtoA.safetensors",)),
    TRAIN_CUT: Entry(
        "in-process", f"{TRAIN_CUT} {FAST} {TINY_CUT}", why="tiny networks; 16 patches of 8 features fit a 32 px crop",
        outputs=("checkpoints/h2z_cut/generator_AtoB.safetensors",)),
    "translate train cut --data datasets/horse2zebra --name h2z_fast --set mode=fastcut": Entry(
        "in-process", f"translate train cut --data datasets/horse2zebra --name h2z_fast --set mode=fastcut {FAST} "
                      f"{TINY_CUT}", why="tiny networks", outputs=("checkpoints/h2z_fast/generator_AtoB.safetensors",)),
    "translate apply --checkpoint checkpoints/h2z_cut --input horses/ --output zebras/": Entry(
        "in-process", "translate apply --checkpoint checkpoints/h2z_cut --input horses/ --output zebras/",
        inputs=("horses/",), needs=(TRAIN_CUT,), outputs=("zebras/p0.jpg",)),
    "translate apply --checkpoint horse2zebra_cut/latest_net_G.pth --input horses/ --output zebras/": Entry(
        "in-process", "translate apply --checkpoint horse2zebra_cut/latest_net_G.pth --input horses/ --output zebras/",
        inputs=("horse2zebra_cut/latest_net_G.pth", "horses/"), why="a small file in CUT's published layout",
        outputs=("zebras/p0.jpg",)),
    TRAIN_COGAN: Entry(
        "in-process", f"{TRAIN_COGAN} {FAST} --set ngf=4 --set ndf=4 --set nef=4 --set latent_dim=8 "
                      "--set invert_iterations=3 --set invert_restarts=2",
        why="also 3 inversion iterations from 2 starts (100 from 4 by default) for the apply below",
        outputs=("checkpoints/co/translate.json",)),
    "translate apply --checkpoint checkpoints/co --input me.jpg --output me_B.png": Entry(
        "in-process", "translate apply --checkpoint checkpoints/co --input me.jpg --output me_B.png",
        inputs=("me.jpg",), needs=(TRAIN_COGAN,), outputs=("me_B.png",)),
    "translate sample --checkpoint checkpoints/co --n 64 --output pairs.png": Entry(
        "in-process", "translate sample --checkpoint checkpoints/co --n 64 --output pairs.png",
        needs=(TRAIN_COGAN,), outputs=("pairs.png",)),

    # --- Video ----------------------------------------------------------------------------------
    "translate apply --checkpoint checkpoints/my_run --input clip.mp4 --output out.mp4": Entry(
        "in-process", "translate apply --checkpoint checkpoints/my_run --input clip.mp4 --output out.mp4",
        inputs=("clip.mp4",), outputs=("out.mp4",),
        why="checkpoints/my_run is README's name for the reader's run: a tiny run made beforehand"),
    "translate apply --checkpoint checkpoints/my_run --input videos/ --output out/": Entry(
        "in-process", "translate apply --checkpoint checkpoints/my_run --input videos/ --output out/",
        inputs=("videos/",), outputs=("out/a.mp4", "out/sub/b.mp4")),
    "translate apply --checkpoint checkpoints/my_run --input clip.mp4 --output review.mp4 --side-by-side": Entry(
        "in-process", "translate apply --checkpoint checkpoints/my_run --input clip.mp4 --output review.mp4 "
                      "--side-by-side", inputs=("clip.mp4",), outputs=("review.mp4",)),
    "translate apply --checkpoint checkpoints/my_run --input clip.mp4 --output calm.mp4 --temporal 0.6": Entry(
        "in-process", "translate apply --checkpoint checkpoints/my_run --input clip.mp4 --output calm.mp4 "
                      "--temporal 0.6", inputs=("clip.mp4",), outputs=("calm.mp4",)),
    "translate frames extract clip.mp4 datasets/clipA/trainA --every 10 --max-size 512": Entry(
        "in-process", "translate frames extract clip.mp4 datasets/clipA/trainA --every 10 --max-size 512",
        inputs=("clip.mp4",), outputs=("datasets/clipA/trainA",)),
    "translate frames assemble frames/ out.mp4 --fps 30 --audio-from clip.mp4": Entry(
        "in-process", "translate frames assemble frames/ out.mp4 --fps 30 --audio-from clip.mp4",
        inputs=("frames/", "clip.mp4"), outputs=("out.mp4",)),

    # --- Face swap ------------------------------------------------------------------------------
    FACES_A: Entry(
        "in-process", FACES_A.replace("--crop-size 128", "--crop-size 32"), inputs=("person_a.mp4",),
        why="32 px crops: the training below runs at 32", outputs=("datasets/swap/trainA",)),
    FACES_B: Entry(
        "in-process", FACES_B.replace("--crop-size 128", "--crop-size 32"), inputs=("person_b_photos/",),
        why="32 px crops", outputs=("datasets/swap/trainB",)),
    TRAIN_FACESWAP: Entry(
        "in-process", f"{TRAIN_FACESWAP} {FAST} --set load_size=32 {TINY_FACESWAP}", needs=(FACES_A, FACES_B),
        why="32 px (the crops' size)", outputs=("checkpoints/a2b/generator_AtoB.safetensors",)),
    "translate faceswap --checkpoint checkpoints/a2b --input clip_of_a.mp4 --output clip_as_b.mp4": Entry(
        "in-process", "translate faceswap --checkpoint checkpoints/a2b --input clip_of_a.mp4 --output clip_as_b.mp4",
        inputs=("clip_of_a.mp4",), needs=(TRAIN_FACESWAP,), outputs=("clip_as_b.mp4",)),

    # --- Pose transfer --------------------------------------------------------------------------
    POSES: Entry("in-process", POSES, inputs=("target.mp4",),
                 outputs=("datasets/dancer/train_A", "datasets/dancer/train_B", "datasets/dancer/keypoints")),
    TRAIN_DANCER: Entry(
        "in-process", f"{TRAIN_DANCER} {FAST} {TINY_HD}", needs=(POSES,),
        outputs=("checkpoints/dancer/generator_AtoB.safetensors",)),
    "translate train-hd --translator pose2frame --data datasets/dancer --name dancer --face-epochs 10": Entry(
        "in-process", "translate train-hd --translator pose2frame --data datasets/dancer --name dancer --face-epochs 1 "
                      f"--size 64 {HD_EPOCHS} {LOCAL_CKPT} {TINY_HD} --set num_scales=1 --set face_size=16 "
                      "--set ngf_face=4 --set face_blocks=1",
        needs=(POSES,), why=LOCAL_WHY + "; one epoch per stage, 64 px (the smallest the schedule takes)",
        outputs=("runs/dancer_face/translate.json",)),
    "translate dance --checkpoint checkpoints/dancer --source source.mp4 --output dancer_does_source.mp4": Entry(
        "in-process", "translate dance --checkpoint checkpoints/dancer --source source.mp4 --output "
                      "dancer_does_source.mp4 --target-stats target_stats.json --source-stats source_stats.json",
        inputs=("source.mp4", "source_stats.json", "target_stats.json"), needs=(TRAIN_DANCER,),
        why="the generated clips show the astronaut from the waist up (no ankles), so extract measures no framing; "
            "normalisation runs with framing statistics written by hand",
        outputs=("dancer_does_source.mp4",)),
    "translate poses render keypoints/ figures/ --size 1280x720": Entry(
        "in-process", "translate poses render keypoints/ figures/ --size 1280x720", inputs=("keypoints/",),
        outputs=("figures",)),

    # --- Pretrained models ----------------------------------------------------------------------
    DOWNLOAD: Entry(
        "in-process", "translate download horse2zebra --url {mirror}/horse2zebra.pth",
        why="no network in CI: --url names a local server holding a file of the published layout and size "
            "(random weights); offline without --url it must fail in one line (test_download_offline_is_one_line)",
        outputs=("checkpoints/horse2zebra/translate.json",)),
    "translate apply --checkpoint checkpoints/horse2zebra --input horses/ --output zebras/": Entry(
        "in-process", "translate apply --checkpoint checkpoints/horse2zebra --input horses/ --output zebras/",
        inputs=("horses/",), needs=(DOWNLOAD,), outputs=("zebras/p0.jpg",)),
    "translate apply --checkpoint ~/Downloads/latest_net_G_A.pth --input photos/ --output out/": Entry(
        "in-process", "translate apply --checkpoint ~/Downloads/latest_net_G_A.pth --input photos/ --output out/",
        inputs=("~/Downloads/latest_net_G_A.pth", "photos/"), why="~ is the stage's home/",
        outputs=("out/p0.jpg",)),
    "translate export --checkpoint checkpoints/horse2zebra --format onnx --output exports/": Entry(
        "in-process", "translate export --checkpoint checkpoints/horse2zebra --format onnx --output exports/",
        needs=(DOWNLOAD,), outputs=("exports/generator_AtoB.onnx",)),
    "translate inspect --checkpoint checkpoints/horse2zebra": Entry(
        "in-process", "translate inspect --checkpoint checkpoints/horse2zebra", needs=(DOWNLOAD,)),

    # --- pix2pixHD ------------------------------------------------------------------------------
    TRAIN_LABEL2CITY: Entry(
        "in-process", f"{TRAIN_LABEL2CITY} {FAST} {TINY_HD}", outputs=("checkpoints/label2city/translate.json",)),
    "translate train pix2pixhd --data datasets/pose2frame --name dancer --set input=rgb": Entry(
        "in-process", f"translate train pix2pixhd --data datasets/pose2frame --name dancer --set input=rgb {LOCAL_CKPT} "
                      f"{FAST} {TINY_HD}", why=LOCAL_WHY, outputs=("runs/dancer/translate.json",)),
    "translate train-hd --data datasets/cityscapes_like --name label2city_hd --set preprocess=scale_width --set load_size=2048 --size 1024":
        Entry("in-process", "translate train-hd --data datasets/cityscapes_like --name label2city_hd --set "
                            f"preprocess=scale_width --set load_size=2048 --size 1024 --set load_size=64 --size 64 "
                            f"{HD_EPOCHS} {TINY_HD}",
              why="64 px (load size 64), the smallest the schedule takes, instead of 1024 (2048)",
              outputs=("checkpoints/label2city_hd_global/translate.json", "checkpoints/label2city_hd/translate.json")),
    "translate apply --checkpoint checkpoints/label2city --input datasets/cityscapes_like/test_label --output out/":
        Entry("in-process", "translate apply --checkpoint checkpoints/label2city --input "
                            "datasets/cityscapes_like/test_label --output out/", needs=(TRAIN_LABEL2CITY,),
              outputs=("out/c_000.png", "out/c_001.png")),

    TRAIN_STYLES: Entry(
        "in-process", f"{TRAIN_STYLES} {FAST} {TINY_HD} --set feature_width=4 --set n_downsample_features=2",
        outputs=("checkpoints/label2city_styles/translate.json",)),
    "translate apply --checkpoint checkpoints/label2city_styles --input datasets/cityscapes_like/test_label --output styled/ --features 2=1":
        Entry("in-process", "translate apply --checkpoint checkpoints/label2city_styles --input "
                            "datasets/cityscapes_like/test_label --output styled/ --features 2=1",
              needs=(TRAIN_STYLES,), outputs=("styled/c_000.png", "styled/c_001.png"),
              stderr=("feature clusters per label:", "painting feature clusters 2=1")),

    # --- Evaluate -------------------------------------------------------------------------------
    "translate eval --checkpoint checkpoints/facades --data datasets/facades --split test": Entry(
        "in-process", "translate eval --checkpoint checkpoints/facades --data datasets/facades --split test "
                      "--metrics psnr,ssim", needs=(TRAIN_FACADES,),
        why="--metrics psnr,ssim: LPIPS needs ImageNet weights CI does not have (a one-line note otherwise)",
        outputs=("checkpoints/facades/eval_test_facades.json",)),
    "translate eval --checkpoint checkpoints/h2z --data datasets/horse2zebra --split test": Entry(
        "in-process", "translate eval --checkpoint checkpoints/h2z --data datasets/horse2zebra --split test",
        needs=(TRAIN_H2Z,), outputs=("checkpoints/h2z/eval_test_horse2zebra.json",),
        stderr=("FID Inception weights not found",),
        why="FID/KID are skipped with a one-line note (no Inception weights in CI); cycle PSNR runs"),
    "translate eval --pred out/ --target datasets/facades/test --json out/eval.json": Entry(
        "in-process", "translate eval --pred out/ --target datasets/facades/test --json out/eval.json",
        inputs=("out/",), why="out/: predictions named as the facades test pairs", outputs=("out/eval.json",)),
    "translate train pix2pix --data datasets/facades --name facades --set eval_every=1000": Entry(
        "in-process", "translate train pix2pix --data datasets/facades --name facades --set eval_every=1000 "
                      f"{LOCAL_CKPT} {FAST} {TINY_PIX2PIX} --set eval_every=1 --set 'eval_metrics=[psnr]'",
        why=LOCAL_WHY + "; evaluated every step (1 step here), PSNR only", outputs=("runs/facades/eval_log.json",)),
    BENCH_QUALITY: Entry(
        "in-process", "python tools/bench_quality.py --data {stage}/datasets/facades --tiny --steps 1 --size 32 "
                      "--num-workers 0 --metrics psnr --variant 'fp32=--precision fp32' --json bench.json",
        why="the demo dataset replaced by a tiny one, one variant of one step; " + BENCH_WHY,
        outputs=("bench.json",)),
    "python tools/bench_quality.py --tasks cartoon,sketch,unpaired --seeds 0,1,2": Entry(
        "in-process", "python tools/bench_quality.py --tasks cartoon,sketch,unpaired --seeds 0,1,2 --seeds 0 "
                      "--work {stage}/bench_tasks --tiny --steps 1 --size 32 --num-workers 0 --metrics psnr --jobs 2 "
                      "--variant default= --json bench.json",
        why="one seed and one variant of one step on tiny tasks; --work in the stage (it defaults into the "
            "checkout); " + BENCH_WHY,
        outputs=("bench.json", "bench_tasks/cartoon", "bench_tasks/unpaired")),

    # --- What translate never does ---------------------------------------------------------------
    "python tools/trust_campaign.py": Entry(
        "in-process", "python tools/trust_campaign.py --only api_uint8_tensor --json campaign.json",
        why="one case of the campaign (each case is a process of its own, ~80 of them take minutes); the "
            "tool's judging is tested in tests/tools/test_trust_campaign.py", outputs=("campaign.json",)),

    # --- Models ---------------------------------------------------------------------------------
    "translate models": Entry(
        "in-process", "translate models",
        why="README shows its output: each shown line must be printed (test_console_output_is_what_readme_shows)"),

    # --- Speed ----------------------------------------------------------------------------------
    "make bench": Entry(
        "make", recipe=("$(BIN)/python tools/bench_train.py", "$(BIN)/python tools/bench_apply.py"),
        why="its recipe is README's next two commands, which run below with tiny networks"),
    ".venv/bin/python tools/bench_train.py": Entry(
        "in-process", ".venv/bin/python tools/bench_train.py --tiny --size 32 --device cpu --iters 1 --warmup 1 "
                      "--configs baseline --in-process --json train.json",
        why="tiny networks, one config, in one process: checks the tool, not the speed", outputs=("train.json",)),
    ".venv/bin/python tools/bench_apply.py": Entry(
        "in-process", ".venv/bin/python tools/bench_apply.py --tiny --size 32 --device cpu --images 2 --repeats 1 "
                      "--iters 1 --warmup 1 --configs baseline --in-process --json apply.json",
        why="tiny networks, one config, in one process", outputs=("apply.json",)),
    ".venv/bin/python tools/bench_quality.py": Entry(
        "in-process", same_as=BENCH_QUALITY, outputs=("bench.json",),
        why="the same program as `python tools/bench_quality.py` once .venv is active: that entry's run"),

    # --- Rebuilding the demo --------------------------------------------------------------------
    MAKE_DEMO_DATASET: Entry(
        "in-process", f"{MAKE_DEMO_DATASET} --count 4 --test-count 2 --size 32 --out datasets/demo_cartoon "
                      "--samples-dir samples_new",
        why="4 pairs of 32 px; --out and --samples-dir name the stage's folders: their defaults are the "
            "checkout's datasets/demo_cartoon and datasets/samples, wherever it is run from",
        outputs=("datasets/demo_cartoon/train", "datasets/demo_cartoon/test", "samples_new/coffee.jpg")),
    ".venv/bin/python datasets/make_sample_video.py": Entry(
        "in-process", ".venv/bin/python datasets/make_sample_video.py --out coffee_pan.mp4",
        why="--out in the stage (by default it replaces the checkout's datasets/samples/coffee_pan.mp4)",
        outputs=("coffee_pan.mp4",)),
    "PATH=.venv/bin:$PATH bash checkpoints/demo_cartoon/train.sh": Entry(
        "shell", "PATH=shim:.venv/bin:$PATH bash checkpoints/demo_cartoon/train.sh", why=TRAIN_SH_WHY,
        inputs=("checkpoints/demo_cartoon/train.sh", "shim/"), checkpoints="empty",
        outputs=("checkpoints/demo_cartoon/generator_AtoB.safetensors", "checkpoints/demo_cartoon/scores.json")),
    "PATH=.venv/bin:$PATH bash checkpoints/demo_comic/train.sh": Entry(
        "shell", "PATH=shim:.venv/bin:$PATH bash checkpoints/demo_comic/train.sh", why=TRAIN_SH_WHY,
        inputs=("checkpoints/demo_comic/train.sh", "shim/"), checkpoints="empty",
        outputs=("checkpoints/demo_comic/generator_BtoA.safetensors", "checkpoints/demo_comic/scores.json")),
    DEMO: Entry(
        "in-process", ".venv/bin/python tools/demo.py --pictures docs/images",
        why="as written: its outputs (demo_out/, docs/images/) are relative, so they land in the stage",
        outputs=("docs/images/demo_pix2pix.png", "docs/images/demo_cyclegan_AtoB.png",
                 "docs/images/demo_cyclegan_BtoA.png", "demo_out/index.html", "demo_out/images/coffee.jpg",
                 "demo_out/coffee_pan_side_by_side.mp4")),
}

# Inputs that only the table's entries know how to make.
EXTRA_INPUTS = {
    "cyclegan_small.yaml": lambda stage: (stage / "cyclegan_small.yaml").write_text(YAML_BLOCK),
    "shim/": lambda stage: _shim(stage / "shim"),
    "checkpoints/demo_cartoon/train.sh": lambda stage: _copy_script(stage, "checkpoints/demo_cartoon/train.sh"),
    "checkpoints/demo_comic/train.sh": lambda stage: _copy_script(stage, "checkpoints/demo_comic/train.sh"),
    "out/": lambda stage: _facades_predictions(stage / "out"),
}


def _shim(folder: Path) -> None:
    folder.mkdir()
    (folder / "python").write_text(TRAIN_SH_SHIM)
    (folder / "python").chmod(0o755)


def _copy_script(stage: Path, relative: str) -> None:
    # A copy, not a symlink: the script trains into its own folder, which must be the stage's.
    (stage / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / relative, stage / relative)


def _facades_predictions(folder: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(10)
    for name in ("0", "1"):
        readme_world._write(folder / f"{name}.png", readme_world._smooth(rng, 36, 36))


# --- running an entry ---------------------------------------------------------------------------

@dataclass
class Result:
    code: int
    out: str
    err: str
    stage: Path
    failed_need: Optional[str] = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _words(command: str, stage: Path):
    """Shell word splitting plus the one expansion README commands use: ~/ is the stage's home/."""
    return [str(stage / "home" / w[2:]) if w.startswith("~/") else w for w in shlex.split(command)]


def _env(stage: Path) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1", "HOME": str(stage / "home"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@contextlib.contextmanager
def _inside(stage: Path):
    """cwd and HOME of the stage, stdout and stderr captured (in-process commands)."""
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_home = os.getcwd(), os.environ.get("HOME")
    os.chdir(stage)
    os.environ["HOME"] = str(stage / "home")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
    finally:
        os.chdir(old_cwd)
        if old_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = old_home


def _in_process(command: str, stage: Path) -> Tuple[int, str, str]:
    words = _words(command, stage)
    with _inside(stage) as (out, err):
        if words[0] == "translate":
            from translate.cli import main

            code = main(words[1:])
        else:  # python SCRIPT ARGS: the script's __main__, as the interpreter would run it
            assert words[0] in ("python", ".venv/bin/python"), command
            old_argv, old_path = sys.argv, list(sys.path)
            sys.argv = words[1:]
            sys.path.insert(0, str((stage / words[1]).resolve().parent))
            try:
                runpy.run_path(words[1], run_name="__main__")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if not isinstance(exc.code, (int, type(None))):
                    print(exc.code, file=sys.stderr)
            finally:
                sys.argv, sys.path[:] = old_argv, old_path
    return code, out.getvalue(), err.getvalue()


def _subprocess(command: str, stage: Path, timeout: float = 240) -> Tuple[int, str, str]:
    words = _words(command, stage)
    words[0] = str(VENV_BIN / words[0]) if (VENV_BIN / words[0]).exists() else words[0]
    done = subprocess.run(words, cwd=stage, env=_env(stage), capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def _shell(command: str, stage: Path, timeout: float = 240) -> Tuple[int, str, str]:
    # PATH as the caller has it, without .venv/bin: the README line itself must put it there.
    env = {**_env(stage), "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(["bash", "-c", command], cwd=stage, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def _serve(command: str, stage: Path, port: int, timeout: float = 120) -> Tuple[int, str, str]:
    """Start the server, fetch its page, stop it with Ctrl-C as a user would; the page's status is
    the result (0 when it answered 200 and the server then stopped cleanly)."""
    words = _words(command, stage)
    words[0] = str(VENV_BIN / words[0])
    proc = subprocess.Popen(words, cwd=stage, env=_env(stage), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    status, deadline = None, time.monotonic() + timeout
    try:
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    status = page.status
            except OSError:
                time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    code = 0 if status == 200 else 1
    return code, out, err + f"\n[test_readme: page status {status}, server exit {proc.returncode}]"


def _python_block(stage: Path) -> Tuple[int, str, str]:
    code = PYTHON_BLOCK
    for old, new in PYTHON_SUBSTITUTIONS:
        assert old in code, f"README's python block no longer has {old!r}: update PYTHON_SUBSTITUTIONS"
        code = code.replace(old, new)
    with _inside(stage) as (out, err):
        import PIL.Image
        import torch

        namespace = {"image": PIL.Image.open("photos/p0.jpg"), "torch": torch, "__name__": "readme"}
        exec(compile(code, "README.md (python block)", "exec"), namespace)
    return 0, out.getvalue(), err.getvalue()


class World:
    """The shared datasets/checkpoints, each entry's stage, and each entry's result (run once)."""

    def __init__(self, root: Path):
        self.root = readme_world.shared_world(root)
        self.results: Dict[str, Result] = {}
        self._mirror: Optional[str] = None
        self._stages = 0

    def mirror(self) -> str:
        """A local HTTP server holding horse2zebra.pth (the published layout): the download's URL."""
        if self._mirror is None:
            folder = self.root / "mirror"
            readme_world.published_horse2zebra(folder / "horse2zebra.pth")
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
            handler.log_message = lambda *a, **k: None
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._mirror = f"http://127.0.0.1:{server.server_address[1]}"
        return self._mirror

    def stage(self, key: str, entry: Entry) -> Path:
        self._stages += 1
        name = f"{self._stages:02d}_" + re.sub(r"[^A-Za-z0-9]+", "_", key)[:60].strip("_")
        known = [i for i in entry.inputs if i in readme_world.INPUTS]
        folder = readme_world.stage(self.root, name, known, own_checkpoints=entry.checkpoints != "shared")
        if entry.checkpoints == "own":
            for model in ("demo_cartoon", "demo_comic"):
                readme_world.link(folder, f"checkpoints/{model}")
        (folder / "home").mkdir(exist_ok=True)
        for extra in entry.inputs:
            if extra not in readme_world.INPUTS:
                EXTRA_INPUTS[extra](folder)
        return folder

    def result(self, key: str) -> Result:
        if key in self.results:
            return self.results[key]
        entry = TABLE[key]
        if entry.same_as:
            self.results[key] = self.result(entry.same_as)
            return self.results[key]
        for need in entry.needs:
            done = self.result(need)
            if done.code != TABLE[need].code or done.failed_need:
                self.results[key] = Result(1, "", f"needs {need!r}, which failed", Path("."), need)
                return self.results[key]
        stage = self.stage(key, entry)
        port = _free_port()
        commands = entry.run.replace("{port}", str(port)).replace("{stage}", str(stage))
        if "{mirror}" in commands:
            commands = commands.replace("{mirror}", self.mirror())
        code, out, err = 0, "", ""
        if entry.how == "python":
            code, out, err = _python_block(stage)
        elif entry.how in ("in-process", "make"):
            for command in filter(None, commands.splitlines()):
                code, o, e = _in_process(command, stage)
                out, err = out + o, err + e
                if code != 0:
                    break
        elif entry.how == "subprocess":
            code, out, err = _subprocess(commands, stage)
        elif entry.how == "shell":
            code, out, err = _shell(commands, stage)
        elif entry.how == "serve":
            code, out, err = _serve(commands, stage, port)
        self.results[key] = Result(code, out, err, stage)
        return self.results[key]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return World(tmp_path_factory.mktemp("readme"))


# --- the tests ----------------------------------------------------------------------------------

def test_every_readme_command_has_an_entry():
    found = readme_world.readme_snippets(README)
    missing = [c for c in found if c not in TABLE]
    assert not missing, "README commands without an entry in tests/test_readme.py's TABLE:\n" + "\n".join(missing)
    stale = [k for k in TABLE if k not in found]
    assert not stale, "TABLE entries whose command is no longer in README:\n" + "\n".join(stale)


def test_every_entry_says_how_and_why():
    for key, entry in TABLE.items():
        assert entry.how in ("in-process", "subprocess", "shell", "serve", "make", "python", "file"), key
        if entry.how in ("make", "file"):
            assert entry.why, f"{key}: say how it is covered"
        if entry.how not in ("make", "file", "python"):
            assert entry.run or entry.same_as in TABLE, key
        for need in entry.needs:
            assert need in TABLE, f"{key}: needs {need!r}, which is not a README command"


def _recipe(target: str):
    """The recipe lines of a Makefile target, comments left out, $(BIN) kept."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        if not line.strip().startswith("#"):
            recipe.append(line.strip())
    return lines[start], tuple(recipe)


@pytest.mark.parametrize("key", sorted(k for k, e in TABLE.items() if e.how == "make"))
def test_make_targets_do_what_readme_says(key):
    target = key.split()[1]
    head, recipe = _recipe(target)
    assert recipe == TABLE[key].recipe, f"`make {target}` runs {recipe}; README's table says {TABLE[key].recipe}"
    if target in ("demo", "test", "bench"):  # README: "installs into .venv" first
        assert "$(STAMP)" in head


def _ids():
    return [k.splitlines()[0][:70] if k.count("\n") else k[:90] for k in TABLE]


@pytest.mark.parametrize("key", list(TABLE), ids=_ids())
def test_readme_command_runs(world, key):
    entry = TABLE[key]
    if entry.how == "file":
        for need in entry.needs:
            assert world.result(need).code == 0, f"{need!r} (which uses this block) failed"
        return
    if entry.how == "make" and not entry.run:
        assert entry.why and _recipe(key.split()[1])[1] == entry.recipe
        return
    result = world.result(key)
    assert result.failed_need is None, result.err
    tail = f"\n--- stdout:\n{result.out[-3000:]}\n--- stderr:\n{result.err[-3000:]}"
    assert result.code == entry.code, f"exit code {result.code}, expected {entry.code}{tail}"
    for text in entry.stderr:
        assert text in result.err, f"stderr lacks {text!r}{tail}"
    for path in entry.outputs:
        target = result.stage / path
        assert target.exists(), f"{path} was not written{tail}"
        if target.is_dir():
            assert any(target.iterdir()), f"{path} is empty{tail}"
        else:
            assert target.stat().st_size > 0, f"{path} is empty{tail}"


def _console_blocks():
    """(command, the output lines README shows under it) for each `$ ` line of a console block."""
    shown = []
    for lang, body in readme_world.readme_blocks(README):
        if lang != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                shown.append((line[2:].strip(), []))
            elif shown:
                shown[-1][1].append(line)
    return shown


@pytest.mark.parametrize("command, lines", _console_blocks(), ids=[c for c, _ in _console_blocks()])
def test_console_output_is_what_readme_shows(world, command, lines):
    result = world.result(command)
    printed = [line.rstrip() for line in (result.out + result.err).splitlines()]
    for line in lines:
        line = line.rstrip()
        if line.strip() in ("", "..."):
            continue  # README's elision
        if line.endswith("..."):  # a line README cuts short
            assert any(p.startswith(line[:-3].rstrip()) for p in printed), f"no printed line starts {line[:-3]!r}"
        else:
            assert line in printed, f"README shows {line!r}; printed:\n" + "\n".join(printed[-20:])


def test_download_offline_is_one_line(world, tmp_path):
    """Without network (a closed port standing in for the official host) the command fails with
    one line that says where to put the file by hand."""
    url = f"http://127.0.0.1:{_free_port()}/horse2zebra.pth"
    with _inside(tmp_path) as (out, err):
        from translate.cli import main

        code = main(["download", "horse2zebra", "--url", url, "--checkpoints-dir", str(tmp_path / "ck")])
    lines = [line for line in err.getvalue().splitlines() if line.strip() and "%|" not in line]
    assert code == 1 and len(lines) == 1 and "by hand" in lines[0], err.getvalue()
    assert main(["download", "--list"]) == 0  # README's other form


def test_activation_is_said_before_the_first_translate_command():
    """A new reader's first `translate` must work: README says to activate .venv before it."""
    first = README.index("translate serve")
    assert "source .venv/bin/activate" in README[:first] or ".venv/bin/translate" in README[:first]


def test_every_picture_readme_shows_is_in_the_repository():
    """A README picture that is not committed is a broken image on the project's front page."""
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README)
    assert pictures
    missing = [p for p in pictures if not p.startswith("http") and not (ROOT / p).is_file()]
    assert not missing, f"README shows pictures that are not in the repository: {missing}"
