"""A campaign of bad inputs, hostile files and out-of-range settings against the CLI and the API.

Every case runs in its own process, as a user would run it, and is judged from the outside:

- **lost**: a file the case gave as input changed or vanished (hashed before and after);
- **hang**: it ran past ``--timeout`` seconds;
- **memory**: its peak RSS went over ``--max-rss-gb`` (a request or file made it allocate);
- **traceback**: a Python traceback reached the user;
- **wrong**: a bad input was accepted (exit 0), a good one refused, or the error was not one line
  naming what the case expects;
- **clean**: everything else.

    python tools/trust_campaign.py                 # every case, a table by class
    python tools/trust_campaign.py --only api_ --json out.json

The cases live in ``CASES`` (name, class, what to run, what must come out). The trust tests under
tests/ check the same behaviours one by one; this tool is the independent count for the issue.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("clean", "traceback", "hang", "memory", "wrong", "lost")
TINY = ["--set", "ngf=4", "--set", "ndf=4", "--set", "generator=resnet", "--set", "generator_options={n_blocks: 1}",
        "--set", "n_layers_d=2", "--size", "32", "--num-workers", "0", "--set", "tensorboard=false"]


@dataclass
class Case:
    name: str
    kind: str  # the class of the issue: inputs, memory, settings, model, api, paths
    argv: Optional[List[str]] = None  # `translate ARGV` in the world folder ...
    python: Optional[str] = None  # ... or a Python snippet there (TranslateError -> one line, exit 1)
    setup: Optional[Callable[[Path], None]] = None  # makes the case's own files in the world folder
    expect: str = "refuse"  # refuse: non-zero exit and one error line; ok: exit 0
    fragment: str = ""  # must appear in the error line
    protect: Sequence[str] = ("in", "data", "ck")  # hashed before and after: must not change


@dataclass
class Result:
    name: str
    kind: str
    outcome: str
    seconds: float
    peak_rss_mb: float
    detail: str = ""


# --- the world every case starts from -----------------------------------------------------------


def _png(path: Path, seed: int, h: int = 32, w: int = 32) -> None:
    import cv2
    import numpy as np

    small = (np.random.default_rng(seed).random((4, 4, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))


def _clip(path: Path) -> None:
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def build_world(world: Path) -> None:
    """in/ (a photo and a clip), data/ (6+6 unpaired images), ck/ (a 2-step tiny CycleGAN run)."""
    _png(world / "in" / "photo.png", 0)
    _clip(world / "in" / "clip.mp4")
    for side in ("trainA", "trainB"):
        for i in range(6):
            _png(world / "data" / side / f"{i}.png", i + (10 if side == "trainB" else 0))
    cmd = [sys.executable, "-m", "translate", "train", "cyclegan", "--data", "data", "--checkpoints-dir", ".",
           "--name", "ck", "--steps", "2", "--set", "save_every=1", *TINY]
    subprocess.run(cmd, cwd=world, check=True, capture_output=True, env=_env())


def _env() -> Dict[str, str]:
    return {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


# --- case setups: each makes its own files beside the world's ---------------------------------------


def _copy_ck(world: Path, name: str) -> Path:
    import shutil

    target = world / name
    shutil.copytree(world / "ck", target, ignore=shutil.ignore_patterns("steps", "tensorboard", "web"))
    return target


def _edit_meta(name: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def setup(world: Path) -> None:
        folder = _copy_ck(world, name)
        meta = json.loads((folder / "translate.json").read_text())
        edit(meta)
        (folder / "translate.json").write_text(json.dumps(meta))
    return setup


def _generators(meta: dict) -> List[dict]:
    return list(meta["generators"].values())


def _set_kwarg(key: str, value) -> Callable[[dict], None]:
    return lambda meta: [g.setdefault("kwargs", {}).__setitem__(key, value) for g in _generators(meta)]


def _set_preprocess(values: dict) -> Callable[[dict], None]:
    return lambda meta: [g.setdefault("preprocess", {}).update(values) for g in _generators(meta)]


def _deep_json(world: Path) -> None:
    folder = _copy_ck(world, "deep")
    (folder / "translate.json").write_text("[" * 100_000 + "]" * 100_000)


def _yaml_tag(world: Path) -> None:
    folder = _copy_ck(world, "tagged")
    (folder / "config.yaml").write_text('model: !!python/object/apply:os.system ["echo pwned > pwned.txt"]\n')


def _hdr(name: str, side: int) -> Callable[[Path], None]:
    def setup(world: Path) -> None:
        # A Radiance header claiming side x side, RLE data for one row only: tiny on disk.
        header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {side} +X {side}\n".encode()
        (world / "in" / name).write_bytes(header + bytes(64))
    return setup


def _pam(world: Path) -> None:
    (world / "in" / "x.pam.png").write_bytes(b"P7\nWIDTH 100\nHEIGHT 100\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\n"
                                             b"ENDHDR\n" + bytes(30000))


def _bomb(world: Path) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    (world / "in" / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                                            chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _png_as_mp4(world: Path) -> None:
    _png(world / "in" / "still.mp4.png", 3)
    (world / "in" / "still.mp4.png").rename(world / "in" / "still.mp4")


def _nested(world: Path) -> None:
    _png(world / "x" / "in" / "a.png", 1)
    _png(world / "x" / "in" / "in" / "a.png", 2)


def _lookalikes(world: Path) -> None:
    (world / "out").mkdir(exist_ok=True)
    for name in (".draft.99999.tmp.png", ".notes.tmp"):
        path = world / "out" / name
        path.write_bytes(b"mine")
        os.utime(path, (time.time() - 7200, time.time() - 7200))


def _links(world: Path) -> None:
    _png(world / "linked" / "good.png", 5)
    (world / "linked" / "gone.png").symlink_to(world / "nowhere.png")
    (world / "linked" / "loop.png").symlink_to(world / "linked" / "loop.png")


def _out_link(world: Path) -> None:
    (world / "link.png").symlink_to(world / "in" / "photo.png")


API = "import numpy as np, torch, translate\nfrom PIL import Image\nm = translate.load('ck', precision='fp32')\n"


def _train(*extra: str) -> List[str]:
    return ["train", "cyclegan", "--data", "data", "--checkpoints-dir", "runs", "--steps", "1", *TINY, *extra]


def _set(pair: str) -> List[str]:
    return _train("--set", pair)


def _cases() -> List[Case]:
    cases = [
        # inputs: never touched, whatever the paths
        Case("apply_file_into_its_folder", "inputs", ["apply", "--checkpoint", "ck", "--input", "in/photo.png",
                                                      "--output", "in/", "--overwrite"], fragment="photo.png"),
        Case("apply_file_into_its_folder_no_overwrite", "inputs",
             ["apply", "--checkpoint", "ck", "--input", "in/photo.png", "--output", "in/"], fragment="photo.png"),
        Case("apply_clip_into_its_folder", "inputs", ["apply", "--checkpoint", "ck", "--input", "in/clip.mp4",
                                                      "--output", "in/", "--overwrite"], fragment="clip.mp4"),
        Case("apply_file_onto_itself", "inputs", ["apply", "--checkpoint", "ck", "--input", "in/photo.png",
                                                  "--output", "in/photo.png", "--overwrite"], fragment="photo.png"),
        Case("apply_onto_a_link_to_the_input", "inputs", ["apply", "--checkpoint", "ck", "--input", "in/photo.png",
                                                          "--output", "link.png", "--overwrite"], setup=_out_link),
        Case("apply_folder_onto_itself", "inputs", ["apply", "--checkpoint", "ck", "--input", "in", "--output", "in",
                                                    "--overwrite"], fragment="input"),
        Case("apply_nested_tree_onto_parent", "inputs", ["apply", "--checkpoint", "ck", "--input", "x/in",
                                                         "--output", "x", "--overwrite"], setup=_nested,
             fragment="inside the input", protect=("x", "ck")),
        Case("api_video_onto_itself", "inputs", python=API + "m.translate_video('in/clip.mp4', 'in/clip.mp4')",
             fragment="clip.mp4"),
        Case("api_folder_into_itself", "inputs", python=API + "m.translate_folder('in', 'in/out', overwrite=True)",
             fragment="input"),
        Case("apply_keeps_users_lookalike_temporaries", "inputs",
             ["apply", "--checkpoint", "ck", "--input", "in/photo.png", "--output", "out/"], setup=_lookalikes,
             expect="ok", protect=("in", "ck", "out/.draft.99999.tmp.png", "out/.notes.tmp")),
        # memory: sizes known before anything is allocated
        Case("apply_hdr_12000_named_png", "memory", ["apply", "--checkpoint", "ck", "--input", "in/big.png",
                                                      "--output", "out/"], setup=_hdr("big.png", 12000),
             fragment="big.png"),
        Case("apply_hdr_9000", "memory", ["apply", "--checkpoint", "ck", "--input", "in/big.hdr.png",
                                          "--output", "out/"], setup=_hdr("big.hdr.png", 9000)),
        Case("apply_pam_over_max_pixels", "memory", ["apply", "--checkpoint", "ck", "--input", "in/x.pam.png",
                                                     "--output", "out/", "--max-pixels", "1000"], setup=_pam),
        Case("apply_png_bomb_header", "memory", ["apply", "--checkpoint", "ck", "--input", "in/bomb.png",
                                                 "--output", "out/"], setup=_bomb, fragment="too large"),
        Case("apply_size_huge", "memory", ["apply", "--checkpoint", "ck", "--input", "in/photo.png", "--output",
                                           "out/", "--size", "100000"], fragment="--size"),
        Case("apply_batch_huge", "memory", ["apply", "--checkpoint", "ck", "--input", "in", "--output", "out/",
                                            "--batch-size", "100000"], fragment="--batch-size"),
        Case("train_batch_larger_than_data", "memory", _train("--batch-size", "100000"), fragment="batch_size"),
        Case("model_ngf_4096_apply", "memory", ["apply", "--checkpoint", "huge", "--input", "in/photo.png",
                                                "--output", "out/"], setup=_edit_meta("huge", _set_kwarg("ngf", 4096)),
             fragment="parameters"),
        Case("model_ngf_4096_inspect", "memory", ["inspect", "--checkpoint", "huge"],
             setup=_edit_meta("huge", _set_kwarg("ngf", 4096)), fragment="parameters"),
        Case("model_ngf_4096_load", "memory", python="import translate\ntranslate.load('huge')",
             setup=_edit_meta("huge", _set_kwarg("ngf", 4096)), fragment="parameters"),
        Case("model_blocks_huge_load", "memory", python="import translate\ntranslate.load('huge')",
             setup=_edit_meta("huge", _set_kwarg("n_blocks", 5000))),
        # model files: one line naming the file and the field
        Case("model_label_without_classes", "model", ["apply", "--checkpoint", "m", "--input", "in/photo.png",
                                                      "--output", "out/"],
             setup=_edit_meta("m", _set_preprocess({"input": "label"}))),
        Case("model_input_evil", "model", ["inspect", "--checkpoint", "m"],
             setup=_edit_meta("m", _set_preprocess({"input": "evil"}))),
        Case("model_channels_2", "model", ["apply", "--checkpoint", "m", "--input", "in/photo.png", "--output",
                                           "out/"], setup=_edit_meta("m", _set_preprocess({"channels": 2}))),
        Case("model_channels_text", "model", ["inspect", "--checkpoint", "m"],
             setup=_edit_meta("m", _set_preprocess({"channels": "abc"}))),
        Case("model_size_text", "model", ["apply", "--checkpoint", "m", "--input", "in/photo.png", "--output",
                                          "out/"], setup=_edit_meta("m", _set_preprocess({"size": "abc"}))),
        Case("model_kwargs_do_not_match_weights", "model", ["apply", "--checkpoint", "m", "--input", "in/photo.png",
                                                            "--output", "out/"],
             setup=_edit_meta("m", _set_kwarg("ngf", 8))),
        Case("model_deep_json", "model", ["inspect", "--checkpoint", "deep"], setup=_deep_json),
        Case("model_yaml_python_tag", "model", ["inspect", "--checkpoint", "tagged"], setup=_yaml_tag),
        # the Python API: one TranslateError, no guessing
        Case("api_empty_array", "api", python=API + "m(np.zeros((0, 0, 3), np.uint8))"),
        Case("api_one_pixel", "api", python=API + "m(np.zeros((1, 1, 3), np.uint8))"),
        Case("api_uint8_tensor", "api", python=API + "m(torch.zeros(3, 16, 16, dtype=torch.uint8))"),
        Case("api_16bit_pil", "api", python=API + "m(Image.fromarray(np.zeros((8, 8), np.uint16)))"),
        Case("api_palette_pil_ok", "api", expect="ok", python=API + (
            "rgb = np.zeros((16, 16, 3), np.uint8); rgb[:, 8:] = (250, 30, 30)\n"
            "p = Image.fromarray(rgb).convert('P', palette=Image.Palette.ADAPTIVE, colors=4)\n"
            "assert np.array_equal(np.asarray(m(p)), np.asarray(m(Image.fromarray(rgb))))")),
        Case("api_train_twice_same_name", "api", python=(
            "import translate\nkw = dict(steps=1, checkpoints_dir='runs', name='twice', size=32, num_workers=0,"
            " set={'ngf': 4, 'ndf': 4, 'generator': 'resnet', 'generator_options': {'n_blocks': 1},"
            " 'n_layers_d': 2, 'tensorboard': False})\n"
            "translate.train('cyclegan', 'data', **kw)\ntranslate.train('cyclegan', 'data', **kw)"),
             fragment="resume=True"),
        # paths and formats
        Case("apply_max_pixels_negative", "paths", ["apply", "--checkpoint", "ck", "--input", "in/photo.png",
                                                    "--output", "out/", "--max-pixels", "-1"], fragment="max-pixels"),
        Case("apply_links_listed", "paths", ["apply", "--checkpoint", "ck", "--input", "linked", "--output", "out/"],
             setup=_links, fragment="", protect=("ck",)),
        Case("apply_png_named_mp4", "paths", ["apply", "--checkpoint", "ck", "--input", "in/still.mp4",
                                              "--output", "out/"], setup=_png_as_mp4, fragment="still image"),
        Case("apply_missing_checkpoint", "paths", ["apply", "--checkpoint", "nope", "--input", "in", "--output",
                                                   "out/"], fragment="nope"),
        Case("train_missing_data", "paths", ["train", "cyclegan", "--data", "nodata"], fragment="nodata"),
        Case("resume_with_fewer_steps", "settings", ["train", "cyclegan", "--data", "data", "--checkpoints-dir",
                                                     ".", "--name", "ck", "--resume", "--steps", "1", *TINY],
             fragment="step"),
        Case("resume_with_other_ngf", "settings", ["train", "cyclegan", "--data", "data", "--checkpoints-dir", ".",
                                                   "--name", "ck", "--resume", "--steps", "4",
                                                   *[a if a != "ngf=4" else "ngf=16" for a in TINY]],
             fragment="ngf"),
    ]
    settings = ["lr=-1", "lr=.nan", "lr=.inf", "beta1=2", "beta2=1.5", "gan_mode=foo", "norm=xyz",
                "padding=mirror", "init=magic", "seed=-1", "seed=2**70", "seed=18446744073709551616",
                "channels_a=2", "pool_size=-1", "num_workers=-1", "n_layers_d=40", "sample_every=-1",
                "ema_decay=.nan", "lambda_cycle=-1", "lambda_identity=.nan", "size=7", "ndf=0", "ngf=-3",
                "log_every=0", "epochs=0", "keep_last=-1", "load_size=16", "lr_d=-1", "save_minutes=-1", "ngf=4096"]
    cases += [Case(f"train_set_{pair.split('=')[0]}_{i}", "settings", _set(pair), fragment=pair.split("=")[0])
              for i, pair in enumerate(settings)]
    return cases


CASES = _cases()


# --- running and judging ----------------------------------------------------------------------------


def _hash_tree(world: Path, names: Sequence[str]) -> Dict[str, str]:
    hashes = {}
    for name in names:
        root = world / name
        files = [root] if root.is_file() or root.is_symlink() else sorted(root.rglob("*")) if root.exists() else []
        for path in files:
            if path.is_file() and not path.is_symlink():
                hashes[str(path.relative_to(world))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


# Every case runs under this wrapper, which records the process's own peak RSS (VmHWM) at exit:
# rusage's maxrss would also count the parent it was forked from (Linux keeps it across exec).
_WRAPPER = """
import atexit, os, runpy, sys

def _peak():
    try:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        with open(os.environ["TRUST_CAMPAIGN_PEAK"], "w") as out:
            out.write(str(kb))
    except (OSError, StopIteration, KeyError):
        pass

atexit.register(_peak)
mode, payload = sys.argv[1], sys.argv[2:]
if mode == "cli":
    sys.argv = ["translate", *payload]
    runpy.run_module("translate", run_name="__main__", alter_sys=True)
else:
    from translate.errors import TranslateError
    try:
        exec(compile(payload[0], "<case>", "exec"))
    except TranslateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
"""


def run_case(case: Case, world: Path, timeout: float, max_rss_gb: float) -> Result:
    import shutil

    scratch = Path(tempfile.mkdtemp(prefix=f"{case.name}.", dir=world.parent))
    shutil.copytree(world, scratch, dirs_exist_ok=True, symlinks=True)
    try:
        if case.setup:
            case.setup(scratch)
        before = _hash_tree(scratch, case.protect)
        cmd = ([sys.executable, "-c", _WRAPPER, "cli", *case.argv] if case.argv is not None
               else [sys.executable, "-c", _WRAPPER, "python", case.python or ""])
        peak_file = scratch.parent / f"{scratch.name}.peak"
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+") as err_file:
            proc = subprocess.Popen(cmd, cwd=scratch, env={**_env(), "TRUST_CAMPAIGN_PEAK": str(peak_file)},
                                    stdout=subprocess.DEVNULL, stderr=err_file, text=True)
            code = _wait(proc, timeout)
            err_file.seek(0)
            err = err_file.read()
        seconds = time.perf_counter() - started
        if code is None:
            return Result(case.name, case.kind, "hang", timeout, 0.0, f"no exit in {timeout:.0f} s")
        peak_mb = int(peak_file.read_text()) / 1024.0 if peak_file.exists() else 0.0
        peak_file.unlink(missing_ok=True)
        after = _hash_tree(scratch, case.protect)
        outcome, detail = judge(case, code, err, before, after, peak_mb, max_rss_gb)
        if case.name == "model_yaml_python_tag" and (scratch / "pwned.txt").exists():
            outcome, detail = "lost", "the YAML tag ran code"
        return Result(case.name, case.kind, outcome, seconds, peak_mb, detail)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _wait(proc: subprocess.Popen, timeout: float) -> Optional[int]:
    """The exit code of ``proc``; None after killing it at ``timeout`` seconds."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def judge(case: Case, code: int, err: str, before: Dict[str, str], after: Dict[str, str], peak_mb: float,
          max_rss_gb: float) -> tuple:
    """(outcome, detail) of one finished case; the order is the severity."""
    if before != after:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return "lost", f"changed: {', '.join(changed[:3])}"
    if "Traceback (most recent call last)" in err:
        return "traceback", err.strip().splitlines()[-1][:200]
    if peak_mb > max_rss_gb * 1024:
        return "memory", f"peak RSS {peak_mb:.0f} MB"
    if case.expect == "ok":
        return ("clean", "") if code == 0 else ("wrong", f"exit {code}: {err.strip()[-200:]}")
    if code == 0:
        return "wrong", "accepted (exit 0)"
    errors = [line for line in err.splitlines() if "error" in line.lower() or "failed" in line.lower()]
    if not errors:
        return "wrong", f"exit {code} with no error line"
    if case.fragment and not any(case.fragment in line for line in err.splitlines()):
        return "wrong", f"no {case.fragment!r} in: {errors[0][:200]}"
    return "clean", errors[0][:200]


def table(results: Sequence[Result]) -> str:
    kinds = sorted({r.kind for r in results})
    lines = ["| class | tried | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 2) + "|"]
    for kind in kinds + ["all"]:
        rows = [r for r in results if kind in ("all", r.kind)]
        counts = [sum(r.outcome == o for r in rows) for o in OUTCOMES]
        lines.append(f"| {kind} | {len(rows)} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name starts with this")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as a hang")
    parser.add_argument("--max-rss-gb", type=float, default=3.0, help="peak RSS over this counts as memory")
    parser.add_argument("--json", default=None, help="write every result here")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if c.name.startswith(args.only)]
    if not cases:
        print(f"no case starts with {args.only!r}", file=sys.stderr)
        return 2
    results: List[Result] = []
    with tempfile.TemporaryDirectory(prefix="trust-campaign.") as tmp:
        world = Path(tmp) / "world"
        build_world(world)
        for case in cases:
            result = run_case(case, world, args.timeout, args.max_rss_gb)
            results.append(result)
            print(f"{result.outcome:9s} {result.seconds:6.1f} s  {case.name}: {result.detail}", flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 0 if all(r.outcome == "clean" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
