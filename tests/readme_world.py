"""What tests/test_readme.py needs besides its table: README parsing and a scratch "checkout".

The README's commands use paths relative to the repository root (datasets/horse2zebra,
checkpoints/demo_cartoon, photos/, clip.mp4, ...). They run unchanged in a scratch folder that
looks like a checkout: the bundled demo models, samples and tools are symlinked from the real
one (read only), and every dataset and input file a command names is made here, tiny, so a
command runs as the README writes it plus a few flags that make it fast.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# A README line is a command when it starts with one of these (what a new user would type).
COMMAND_PREFIXES = ("make ", "translate ", "torchrun ", "python ", ".venv/bin/", "PATH=", "source ", ". ")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def readme_blocks(text: str) -> List[Tuple[str, str]]:
    """Every fenced block as (language, body)."""
    return [(lang, body) for lang, body in BLOCK.findall(text)]


def _strip_comment(line: str) -> str:
    """The command without its trailing `# comment` (a # inside quotes, or inside a word, is kept)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def readme_snippets(text: str) -> List[str]:
    """The README's runnable things, each as the key of test_readme.py's table.

    - a command line of a bash block, or a `$ ` line of a console block, without its trailing
      comment; lines continued with a backslash are joined with one space. A commented-out
      command (`#   translate train-hd ...`) counts: the README offers it.
    - a whole python or yaml block, as written.
    """
    found: List[str] = []
    for lang, body in readme_blocks(text):
        if lang in ("python", "yaml"):
            found.append(body)
            continue
        if lang not in ("bash", "console"):
            continue
        pending = ""
        for raw in body.splitlines():
            line = raw.strip()
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if line.startswith("#"):
                inner = line.lstrip("#").strip()
                if not inner.startswith(COMMAND_PREFIXES):
                    continue
                line = inner
            if pending:
                line = pending + " " + line
            if line.endswith("\\"):
                pending = line[:-1].rstrip()
                continue
            pending = ""
            command = _strip_comment(line)
            if command.startswith(COMMAND_PREFIXES):
                found.append(command)
    return found


# --- the scratch checkout -------------------------------------------------------------------

def _write(path: Path, rgb: np.ndarray) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]) if rgb.ndim == 3 else rgb)
    return path


def _smooth(rng, h: int, w: int) -> np.ndarray:
    """A smooth colour picture (learnable, unlike noise)."""
    import cv2

    small = (rng.random((5, 6, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def unpaired(root: Path, n: int = 4, size: int = 36, test: bool = True, seed: int = 0) -> Path:
    """trainA/ and trainB/ (B: inverted colours), testA/ and testB/ too unless ``test`` is false."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test") if test else ("train",):
        for i in range(n if split == "train" else 2):
            _write(root / f"{split}A" / f"a{i}.jpg", _smooth(rng, size, size))
            _write(root / f"{split}B" / f"b{i}.jpg", 255 - _smooth(rng, size, size))
    return root


def paired_side_by_side(root: Path, n: int = 4, size: int = 36) -> Path:
    """The pix2pix layout: train/ and test/ of A|B images (B = A with its channels reversed)."""
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for i in range(n if split == "train" else 2):
            a = _smooth(rng, size, size)
            _write(root / split / f"{i}.jpg", np.concatenate([a, a[..., ::-1]], axis=1))
    return root


def paired_folders(root: Path, n: int = 4, size: int = 36) -> Path:
    """train/A/ and train/B/ matched by name across suffixes (x.png <-> x.jpg), as README says."""
    rng = np.random.default_rng(2)
    for i in range(n):
        a = _smooth(rng, size, size)
        _write(root / "train" / "A" / f"x{i}.png", a)
        _write(root / "train" / "B" / f"x{i}.jpg", a[..., ::-1])
    return root


def label_maps(root: Path) -> Path:
    """pix2pixHD's layout: train_label/ (ids 0..3) + train_inst/ (each block its own object, ids
    label * 1000 + block, as Cityscapes numbers them) + train_img/, and test_label/ of odd sizes."""
    rng = np.random.default_rng(3)
    colours = np.array([[0, 0, 0], [200, 30, 30], [30, 200, 30], [30, 30, 200]], np.uint8)
    for split, n, (h, w) in (("train", 3, (32, 40)), ("test", 2, (29, 37))):
        for i in range(n):
            blocks = rng.integers(0, 4, (4, 5)).astype(np.uint8)
            cell = np.ones((h // 4 + 1, w // 5 + 1), np.uint16)
            label = np.kron(blocks, cell)[:h, :w].astype(np.uint8)
            objects = np.kron(blocks.astype(np.uint16) * 1000 + np.arange(20, dtype=np.uint16).reshape(4, 5), cell)
            _write(root / f"{split}_label" / f"c_{i:03d}.png", label)
            if split == "train":
                _write(root / f"{split}_inst" / f"c_{i:03d}.png", objects[:h, :w])
                _write(root / f"{split}_img" / f"c_{i:03d}.png", colours[label])
    return root


def frame_pairs(root: Path) -> Path:
    """pix2pixHD's rgb input layout: train_A/ + train_B/ matched by name."""
    rng = np.random.default_rng(4)
    for i in range(3):
        a = _smooth(rng, 32, 32)
        _write(root / "train_A" / f"f{i}.png", a)
        _write(root / "train_B" / f"f{i}.png", 255 - a)
    return root


def photos(folder: Path, n: int = 2, seed: int = 5) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        _write(folder / f"p{i}.jpg", _smooth(rng, 30 + 4 * i, 38))
    return folder


def keypoints(folder: Path) -> Path:
    """Two OpenPose BODY_25 files of one standing figure (what `translate poses render` reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = np.zeros((25, 3), np.float32)
    # nose, neck, shoulders, elbows, wrists, mid-hip, hips, knees, ankles (BODY_25 order 0..14)
    points = [(64, 20), (64, 34), (52, 34), (46, 50), (44, 64), (76, 34), (82, 50), (84, 64),
              (64, 70), (58, 70), (58, 92), (58, 112), (70, 70), (70, 92), (70, 112)]
    for i, (x, y) in enumerate(points):
        body[i] = (x, y, 0.9)
    for frame in range(2):
        people = [{"pose_keypoints_2d": body.reshape(-1).tolist()}]
        (folder / f"clip_{frame:06d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    return folder


def face_photos(folder: Path) -> Path:
    """One photo with a real face (the astronaut): what `translate faces extract` needs to find."""
    from face_clips import portrait

    return _write(folder / "b0.jpg", portrait()).parent


def same_size_frames(folder: Path, n: int = 3) -> Path:
    rng = np.random.default_rng(9)
    for i in range(n):
        _write(folder / f"{i:04d}.png", _smooth(rng, 32, 48))
    return folder


def reference_pth(path: Path) -> Path:
    """A small ResNet generator in the reference implementation's published key layout."""
    import torch

    from translate.interop.layouts import reference_resnet

    layout = reference_resnet(ngf=4, n_blocks=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: torch.randn(s) * 0.05 for k, s in layout.keys.items()}, path)
    return path


def cut_pth(path: Path) -> Path:
    """A small CUT generator in its published latest_net_G.pth layout (anti-aliased sampling, the
    blur filters saved as buffers), random weights."""
    import torch

    from translate.interop.layouts_cut import cut_resnet

    layout = cut_resnet(ngf=4, n_blocks=2)
    state = {}
    for key, shape in layout.keys.items():
        if key in layout.constants:  # the fixed blur filter, one copy per channel
            kernel = torch.tensor(layout.constants[key]).reshape(shape[2:])
            state[key] = kernel.expand(shape).clone()
        else:
            state[key] = torch.randn(shape) * 0.05
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def published_horse2zebra(path: Path) -> Path:
    """A file with the published horse2zebra.pth's layout and size (ResNet-9, ngf 64), random weights."""
    import torch

    from translate.interop.layouts import reference_resnet

    layout = reference_resnet(ngf=64, n_blocks=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: torch.randn(s) * 0.02 for k, s in layout.keys.items()}, path)
    return path


def pose_stats(path: Path, width: int, height: int) -> Path:
    """A pose_stats.json (translate dance's framing statistics) for a full-body figure."""
    path.write_text(json.dumps({"frame_size": [width, height], "ankle_close": 0.9 * height,
                                "ankle_far": 0.8 * height, "height_close": 0.7 * height,
                                "height_far": 0.6 * height, "frames": 4}))
    return path


def _clip(path: Path, **kw) -> Path:
    from video_clips import make_video

    return make_video(path, **kw)


def _face_clip(path: Path, **kw) -> Path:
    from face_clips import make_face_video

    return make_face_video(path, **kw)


def _astronaut_clip(path: Path, size: int) -> Path:
    from pose_clips import astronaut_frames, write_clip

    return write_clip(path, astronaut_frames(4, size=size))


def _videos(folder: Path) -> Path:
    _clip(folder / "a.mp4", frames=4, width=32, height=32)
    _clip(folder / "sub" / "b.mp4", frames=3, width=32, height=24, audio=None)
    return folder


# Every input file or folder a README command names, made small (stage = the command's cwd).
INPUTS = {
    "photos/": lambda stage: photos(stage / "photos"),
    "horses/": lambda stage: photos(stage / "horses", seed=6),
    "zebras/": lambda stage: photos(stage / "zebras", seed=7),
    "me.jpg": lambda stage: _write(stage / "me.jpg", _smooth(np.random.default_rng(8), 40, 32)),
    "person_b_photos/": lambda stage: face_photos(stage / "person_b_photos"),
    "clip.mp4": lambda stage: _clip(stage / "clip.mp4", frames=6, width=48, height=32),
    "in.mp4": lambda stage: _clip(stage / "in.mp4", frames=4, width=32, height=32),
    "videos/": lambda stage: _videos(stage / "videos"),
    "frames/": lambda stage: same_size_frames(stage / "frames"),
    "person_a.mp4": lambda stage: _face_clip(stage / "person_a.mp4", frames=6, audio=False),
    "clip_of_a.mp4": lambda stage: _face_clip(stage / "clip_of_a.mp4", frames=4),
    "target.mp4": lambda stage: _astronaut_clip(stage / "target.mp4", 64),
    "source.mp4": lambda stage: _astronaut_clip(stage / "source.mp4", 48),
    "keypoints/": lambda stage: keypoints(stage / "keypoints"),
    "source_stats.json": lambda stage: pose_stats(stage / "source_stats.json", 48, 48),
    "target_stats.json": lambda stage: pose_stats(stage / "target_stats.json", 64, 64),
    "~/Downloads/latest_net_G_A.pth": lambda stage: reference_pth(stage / "home" / "Downloads" / "latest_net_G_A.pth"),
    "horse2zebra_cut/latest_net_G.pth": lambda stage: cut_pth(stage / "horse2zebra_cut" / "latest_net_G.pth"),
}


def link(world: Path, relative: str, target: Path = None) -> None:
    """``world/relative`` -> the real checkout's file or folder (read only by the commands)."""
    path = world / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target or ROOT / relative)


def shared_world(world: Path) -> Path:
    """The datasets and checkpoints every command's stage shares: tiny datasets under the README's
    names, the bundled demo models (symlinks: read only), and checkpoints/my_run, the README's
    placeholder name for a user's own run (a tiny CycleGAN-shaped run)."""
    from translate.checkpoint import GeneratorSpec, save_run

    for relative in ("checkpoints/demo_cartoon", "checkpoints/demo_comic", "datasets/samples",
                     "datasets/make_demo_dataset.py", "datasets/make_sample_video.py", "datasets/make_bench_tasks.py"):
        link(world, relative)
    d = world / "datasets"
    unpaired(d / "horse2zebra")
    unpaired(d / "shoes_bags", seed=2, test=False)
    unpaired(d / "faces", seed=3, test=False)
    paired_side_by_side(d / "facades")
    paired_folders(d / "my_paired")
    label_maps(d / "cityscapes_like")
    frame_pairs(d / "pose2frame")
    spec = GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", "AtoB")
    save_run(world / "checkpoints" / "my_run", {"AtoB": (spec.build(), spec)}, step=1, translator="cyclegan")
    return world


def stage(world: Path, name: str, inputs=(), own_checkpoints: bool = False) -> Path:
    """A command's working directory: the shared datasets/ and checkpoints/ (or a checkpoints/ of
    its own), tools/ and .venv/ of the real checkout, and the inputs it names."""
    folder = world / "stages" / name
    folder.mkdir(parents=True)
    link(folder, "datasets", world / "datasets")
    if not own_checkpoints:
        link(folder, "checkpoints", world / "checkpoints")
    link(folder, "tools")
    link(folder, ".venv")
    for name in inputs:
        INPUTS[name](folder)
    return folder
