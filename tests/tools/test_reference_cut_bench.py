"""tools/bench_reference_cut.py: the schedule, the reference's command line, the one-line errors,
and a whole run against a stand-in for the reference's interface (no reference checkout needed)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))

import bench_reference_cut as tool  # noqa: E402



@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """One torch thread: the tool sets OMP_NUM_THREADS from --threads and its children inherit it."""
    import torch

    threads = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


def _fake_checkout(root: Path) -> Path:
    for marker in tool.MARKERS:
        (root / marker).parent.mkdir(parents=True, exist_ok=True)
        (root / marker).write_text("")
    return root


def _write_png(path: Path, array: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array[..., ::-1])


def _task(root: Path, size: int = 32) -> Path:
    """An unpaired task as make_bench_tasks writes one: trainA/, trainB/, paired test/ (A|B)."""
    import cv2

    rng = np.random.default_rng(0)

    def smooth():
        return cv2.resize((rng.random((5, 5, 3)) * 255).astype(np.uint8), (size, size),
                          interpolation=cv2.INTER_CUBIC)

    for i in range(4):
        _write_png(root / "trainA" / f"a{i}.png", smooth())
        _write_png(root / "trainB" / f"b{i}.png", 255 - smooth())
    for i in range(2):
        a = smooth()
        _write_png(root / "test" / f"t{i}.png", np.concatenate([a, 255 - a], axis=1))
    return root


# --------------------------------------------------------------------------- no checkout needed


def test_learning_rates_are_translates_schedule():
    """Constant for the first half, then linear towards 0: step k gets lr * (1 - (k - 5) / 5) past 5."""
    lrs = tool.learning_rates(10, 2e-4)
    assert lrs == pytest.approx([2e-4] * 6 + [1.6e-4, 1.2e-4, 0.8e-4, 0.4e-4])
    assert tool.learning_rates(1, 1e-3) == [1e-3]
    assert tool.learning_rates(4, 1.0, decay_start=0.0) == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert tool.learning_rates(4, 1.0, decay_start=1.0) == [1.0] * 4

    from translate.training.schedule import linear_decay

    factor = linear_decay(600, 0.5)  # the Trainer's multiplier before its step k
    assert tool.learning_rates(600, 2e-4) == pytest.approx([2e-4 * factor(k) for k in range(600)])


def test_quality_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "can_load_antialiased", lambda: True)
    ref, data = _fake_checkout(tmp_path / "ref"), _task(tmp_path / "comic")
    args = tool.resolve_args(tool.build_parser().parse_args([
        "--reference", str(ref), "--data", str(data), "--steps", "600", "--seeds", "0,1,2", "--ngf", "16",
        "--ndf", "32", "--net-g", "resnet_6blocks", "--cut-mode", "CUT,FastCUT"]))
    assert (args.size, args.threads, args.cut_mode, args.seeds) == (128, 1, ["CUT", "FastCUT"], [0, 1, 2])
    spec = tool.quality_spec(args, "FastCUT", 2, tmp_path / "work")
    assert (spec["seed"], spec["steps"], spec["translator"], spec["name"]) == (2, 600, "reference_fastcut", "FastCUT_s2")
    argv = tool.reference_argv(spec)
    pairs = dict(zip(argv[::2], argv[1::2]))
    assert pairs == {
        "--model": "cut", "--CUT_mode": "FastCUT", "--gpu_ids": "-1", "--dataroot": str(data.resolve()),
        "--name": "FastCUT_s2", "--checkpoints_dir": str(tmp_path / "work"), "--batch_size": "1",
        "--preprocess": "crop", "--load_size": "128", "--crop_size": "128", "--netG": "resnet_6blocks",
        "--ngf": "16", "--ndf": "32", "--lr": "0.0002", "--num_threads": "0", "--display_id": "0", "--netD": "basic"}
    # Nothing else: the reference's defaults (antialias, lambda_NCE and nce_idt per mode, 256
    # patches, tau 0.07, lsgan, xavier) stay its own; flip stays on.
    assert not any(a in argv for a in ("--no_antialias", "--no_flip", "--lambda_NCE", "--nce_idt"))


def test_speed_command_line_and_options(tmp_path):
    ref = _fake_checkout(tmp_path / "ref")
    args = tool.resolve_args(tool.build_parser().parse_args([
        "--reference", str(ref), "--mode", "speed", "--n-layers-d", "2", "--no-antialias", "--extra", "--nce_T 0.1"]))
    assert (args.size, args.threads, args.cut_mode, args.ngf, args.net_g) == (256, 2, ["CUT", "FastCUT"], 64,
                                                                            "resnet_9blocks")
    spec = tool.speed_spec(args, "CUT", tmp_path)
    assert (spec["warmup"], spec["iters"], spec["translator"], spec["data"]) == (1, 3, "reference_cut", None)
    argv = tool.reference_argv(spec)
    assert argv[argv.index("--netD") + 1] == "n_layers" and argv[argv.index("--n_layers_D") + 1] == "2"
    assert "--no_antialias" in argv and "--no_antialias_up" in argv
    assert argv[-2:] == ["--nce_T", "0.1"]
    assert json.loads(json.dumps(spec)) == spec  # the child gets it as JSON


def test_missing_checkout_is_one_line_error(tmp_path):
    script = TOOLS / "bench_reference_cut.py"
    for extra in ([], ["--reference", str(tmp_path / "absent")]):
        done = subprocess.run([sys.executable, str(script), "--data", str(tmp_path), *extra],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("bench_reference_cut: --reference"), done.stderr
        assert "Traceback" not in done.stderr


def test_not_a_checkout_and_bad_data_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "can_load_antialiased", lambda: True)
    with pytest.raises(SystemExit, match="not a checkout of taesungp/contrastive-unpaired-translation"):
        tool.main(["--reference", str(tmp_path)])
    ref = _fake_checkout(tmp_path / "ref")
    (tmp_path / "data" / "trainB").mkdir(parents=True)
    with pytest.raises(SystemExit, match=r"--data .*: no trainA/"):
        tool.main(["--reference", str(ref), "--data", str(tmp_path / "data")])
    with pytest.raises(SystemExit, match="needs --data DIR"):
        tool.main(["--reference", str(ref)])
    monkeypatch.setattr(tool, "can_load_antialiased", lambda: False)
    with pytest.raises(SystemExit, match="pass --no-antialias"):
        tool.main(["--reference", str(ref), "--data", str(_task(tmp_path / "task"))])


# --------------------------------------------------------------------------- the reference itself


# A stand-in for the reference checkout: its interface as the tool's child uses it (TrainOptions,
# create_dataset, create_model with data_dependent_initialize / setup / set_input /
# optimize_parameters / save_networks), written here, not copied. Its generator is the reference's
# ResNet restated as ops (tests/interop/test_interop_reference.py), saved in the reference's
# latest_net_G.pth layout, so the tool's whole path runs in every test run: options, data, steps and
# the learning-rate schedule, the checkpoint, translate.load's import checked against the probe,
# translate.eval, the speed child. A run against the real checkout (set-up in the tool's docstring)
# is a command of the tool, not a test: the reference is third-party code this project can neither
# ship nor download at test time.
_STAND_IN = {
    "options/train_options.py": """
import argparse, os


class TrainOptions:
    def parse(self):
        p = argparse.ArgumentParser()
        for flag in ("model", "CUT_mode", "gpu_ids", "dataroot", "name", "checkpoints_dir", "preprocess", "netG",
                     "netD", "display_id"):
            p.add_argument("--" + flag, default="")
        for flag in ("batch_size", "load_size", "crop_size", "ngf", "ndf", "num_threads", "n_layers_D"):
            p.add_argument("--" + flag, type=int, default=3)
        p.add_argument("--lr", type=float, default=2e-4)
        p.add_argument("--no_antialias", action="store_true")
        p.add_argument("--no_antialias_up", action="store_true")
        opt = p.parse_args()
        opt.nce_idt = opt.CUT_mode == "CUT"
        os.makedirs(os.path.join(opt.checkpoints_dir, opt.name), exist_ok=True)
        return opt
""",
    "data/__init__.py": """
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def _image(path):
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), np.float32) / 127.5 - 1).permute(2, 0, 1)[None]


class _Data:
    def __init__(self, root):
        self.a = sorted(Path(root, "trainA").glob("*.png"))
        self.b = sorted(Path(root, "trainB").glob("*.png"))

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return max(len(self.a), len(self.b))

    def __iter__(self):
        for i in range(len(self)):
            a, b = self.a[i % len(self.a)], self.b[i % len(self.b)]
            yield {"A": _image(a), "B": _image(b), "A_paths": [str(a)], "B_paths": [str(b)]}


def create_dataset(opt):
    return _Data(opt.dataroot)
""",
    "models/__init__.py": """
import os, sys

import torch
import torch.nn.functional as F

sys.path.insert(0, INTEROP_TESTS)
from test_interop_reference import make_state, resnet_ops, run  # noqa: E402


class _Net(torch.nn.Module):
    def __init__(self, ops, state):
        super().__init__()
        self.ops, self.keys = ops, list(state)
        self.weights = torch.nn.ParameterList([torch.nn.Parameter(v) for v in state.values()])

    def state(self):
        return {k: w.detach().clone() for k, w in zip(self.keys, self.weights)}

    def forward(self, x):
        return run(self.ops, dict(zip(self.keys, self.weights)), x, "model", "instance")


class _CUT:
    def __init__(self, opt):
        self.opt = opt
        blocks = int(opt.netG.split("_")[1].replace("blocks", ""))
        ops = resnet_ops(3, 3, opt.ngf, blocks, "instance")
        self.netG = _Net(ops, make_state(ops, "model", "instance"))
        self.netD = torch.nn.Linear(1, 1)
        self.optimizers = [torch.optim.Adam(self.netG.parameters(), lr=opt.lr),
                           torch.optim.Adam(self.netD.parameters(), lr=opt.lr)]

    def data_dependent_initialize(self, batch):
        self.netF = torch.nn.Linear(1, 1)  # made on the first batch, with its own Adam, as the reference does
        self.optimizers.append(torch.optim.Adam(self.netF.parameters(), lr=self.opt.lr))

    def setup(self, opt):
        pass

    def set_input(self, batch):
        self.real_A, self.real_B = batch["A"], batch["B"]

    def optimize_parameters(self):
        for optimizer in self.optimizers:
            optimizer.zero_grad()
        self.loss_G = F.l1_loss(self.netG(self.real_A), self.real_B)
        self.loss_G.backward()
        self.optimizers[0].step()

    def get_current_losses(self):
        return {"G": float(self.loss_G)}

    def save_networks(self, epoch):
        torch.save(self.netG.state(), os.path.join(self.opt.checkpoints_dir, self.opt.name, f"{epoch}_net_G.pth"))


def create_model(opt):
    return _CUT(opt)
""",
}


def _stand_in_checkout(root: Path) -> Path:
    """The reference's interface (see _STAND_IN), with every file the tool checks for."""
    _fake_checkout(root)
    interop = Path(__file__).resolve().parents[1] / "interop"
    for name, text in _STAND_IN.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.replace("INTEROP_TESTS", repr(str(interop))))
    return root


def test_a_run_against_the_references_interface(tmp_path, capsys):
    """3 steps at 32 px, ngf 4, measured by our eval; then one tiny speed row."""
    reference = _stand_in_checkout(tmp_path / "reference")
    antialias = ["--no-antialias"]  # the stand-in's generator has the plain ResNet layout
    out = tmp_path / "quality.json"
    code = tool.main(["--reference", str(reference), "--data", str(_task(tmp_path / "task")), "--size", "32",
                      "--steps", "3", "--ngf", "4", "--ndf", "4", "--net-g", "resnet_6blocks", "--n-layers-d", "2",
                      "--seeds", "0", *antialias, "--json", str(out)])
    assert code == 0, capsys.readouterr()
    row = json.loads(out.read_text())["rows"][0]
    assert row["translator"] == "reference_cut" and row["error"] is None and row["seeds"] == 1
    run = row["runs"][0]
    assert run["steps"] == 3 and run["optimizers"] == 3  # G, D and F (made by data_dependent_initialize)
    assert run["lr_first"] == pytest.approx(2e-4) and run["lr_last"] == pytest.approx(1e-4)  # 3 steps: 1, 1, 1/2
    assert run["options"]["nce_idt"] is True and run["options"]["no_antialias"] == bool(antialias)
    assert run["loaded_by_translate"]["max_abs_diff_vs_reference"] <= tool.PROBE_TOLERANCE
    assert set(row["metrics"]) == {"psnr_AtoB", "ssim_AtoB"} and row["peak_mb"] > 0
    assert "| reference_cut |" in capsys.readouterr().out

    out = tmp_path / "speed.json"
    code = tool.main(["--reference", str(reference), "--mode", "speed", "--cut-mode", "FastCUT", "--size", "32",
                      "--ngf", "4", "--ndf", "4", "--iters", "1", "--warmup", "0", "--threads", "1", "--json", str(out)])
    assert code == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["translator"] == "reference_fastcut" and row["s_per_step"] > 0 and row["peak_mb"] > 0
