"""Training that loses nothing: signals save the last step, resume repeats exactly, saves are two-phase."""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from translate import checkpoint as ckpt
from translate.fileio import temporary_name
from translate import run_history
from translate.cli import main
from translate.config import resolve
from translate.registry import TRANSLATORS
from translate.training import trainer as trainer_module
from translate.training.interrupt import TrainingInterrupted
from translate.training.loop import TrainingError, train

from conftest import TINY_CYCLEGAN

# pix2pix with a one-block ResNet and dropout on: every step draws dropout masks from the RNG.
TINY_DROPOUT = ["ngf=4", "ndf=4", "generator=resnet", "generator_options={n_blocks: 1}", "n_layers_d=2",
                "dropout=true"]


def _run(translator, data, ck, name, pairs):
    cls = TRANSLATORS.get(translator)
    return resolve(translator, cls.Options(), cli_values={
        "data": str(data), "name": name, "checkpoints_dir": str(ck), "size": 32,
        "num_workers": 0, "precision": "fp32", "tensorboard": False, "log_every": 1,
    }, set_pairs=[p for p in pairs if p != "--set"], train_defaults=getattr(cls, "train_defaults", None))


def _same_weights(a, b):
    for direction in ("AtoB", "BtoA"):
        fa, fb = Path(a) / f"generator_{direction}.safetensors", Path(b) / f"generator_{direction}.safetensors"
        if not fa.exists():
            continue
        wa, wb = load_file(str(fa)), load_file(str(fb))
        assert wa.keys() == wb.keys()
        for key in wa:
            assert torch.equal(wa[key], wb[key]), key
    sa, sb = ckpt.load_training_state(a), ckpt.load_training_state(b)
    for key in sa["discriminators"]:
        assert torch.equal(sa["discriminators"][key], sb["discriminators"][key]), key


def _signal_at(monkeypatch, at_step, signum):
    """Deliver ``signum`` to this process while step ``at_step`` runs, as a user would."""
    original = trainer_module.Trainer._step

    def step(self, batch):
        out = original(self, batch)
        if self.step_count == at_step:
            os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(trainer_module.Trainer, "_step", step)
    return original


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_last_step_and_resume_is_bit_identical(signum, paired_data, tmp_path, monkeypatch):
    pairs = TINY_DROPOUT + ["steps=9", "save_every=1000"]
    train(_run("pix2pix", paired_data, tmp_path, "straight", pairs))
    killed = _run("pix2pix", paired_data, tmp_path, "killed", pairs)
    original = _signal_at(monkeypatch, 4, signum)  # 6 samples/epoch: mid-epoch
    # Whatever they were: Python's default_int_handler in a terminal, SIG_IGN for SIGINT in a
    # job a non-interactive shell started in the background (nohup make test &).
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(TrainingInterrupted, match="step 4 saved") as info:
        train(killed)
    assert info.value.step == 4 and isinstance(info.value, KeyboardInterrupt)
    assert ckpt.load_training_state(tmp_path / "killed")["step"] == 4
    assert {s: signal.getsignal(s) for s in before} == before  # handlers restored
    monkeypatch.setattr(trainer_module.Trainer, "_step", original)
    train(killed, resume=True)
    _same_weights(tmp_path / "straight", tmp_path / "killed")


def test_kill_mid_epoch_then_resume_is_bit_identical_with_dropout(paired_data, tmp_path):
    # Before: creating the DataLoader iterator drew from the global RNG, shifting dropout masks.
    pairs = TINY_DROPOUT + ["steps=9", "save_every=1000"]
    train(_run("pix2pix", paired_data, tmp_path, "straight", pairs))
    killed = _run("pix2pix", paired_data, tmp_path, "killed", pairs)
    train(killed, max_steps_this_call=4)
    train(killed, resume=True)
    _same_weights(tmp_path / "straight", tmp_path / "killed")


def test_sigterm_through_the_cli_says_which_step_and_resumes(unpaired_data, tmp_path):
    cmd = [sys.executable, "-m", "translate", "train", "cyclegan", "--data", str(unpaired_data), "--name", "r",
           "--checkpoints-dir", str(tmp_path), "--size", "32", "--num-workers", "0", "--precision", "fp32",
           "--steps", "100000", "--set", "tensorboard=false", "--set", "save_every=2", *TINY_CYCLEGAN]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    deadline = time.time() + 120
    while not run_history.history_steps(tmp_path / "r") and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    step = ckpt.load_training_state(tmp_path / "r")["step"]
    assert f"stopped by SIGTERM: step {step} saved to" in out and "--resume" in out  # the run's log
    assert "Traceback" not in err and "interrupted" in err
    assert main(["train", "cyclegan", "--name", "r", "--checkpoints-dir", str(tmp_path), "--resume",
                 "--steps", str(step + 1)]) == 0
    assert ckpt.read_metadata(tmp_path / "r")["step"] == step + 1


def test_history_keeps_last_saves_and_apply_picks_a_step(unpaired_data, tmp_path, capsys):
    run = _run("cyclegan", unpaired_data, tmp_path, "h", TINY_CYCLEGAN + ["steps=6", "save_every=2", "keep_last=2"])
    folder = train(run)
    assert run_history.history_steps(folder) == [4, 6]
    assert ckpt.read_metadata(folder / "steps" / "4")["step"] == 4
    out = tmp_path / "out"
    image = next((unpaired_data / "trainA").iterdir())
    assert main(["apply", "--checkpoint", str(folder), "--step", "4", "--input", str(image),
                 "--output", str(out / "x.png"), "--precision", "fp32"]) == 0
    assert (out / "x.png").exists()
    assert main(["apply", "--checkpoint", str(folder), "--step", "2", "--input", str(image),
                 "--output", str(out / "y.png")]) == 1
    assert "no step 2 kept (kept steps: 4, 6)" in capsys.readouterr().err


def test_save_minutes_saves_whatever_the_step(unpaired_data, tmp_path):
    run = _run("cyclegan", unpaired_data, tmp_path, "t", TINY_CYCLEGAN + ["steps=3", "save_every=1000",
                                                                          "save_minutes=0.000001", "keep_last=5"])
    assert run_history.history_steps(train(run)) == [1, 2, 3]


def test_failed_checkpoint_write_keeps_the_previous_one(unpaired_data, tmp_path, monkeypatch):
    run = _run("cyclegan", unpaired_data, tmp_path, "full", TINY_CYCLEGAN + ["steps=4", "save_every=2"])
    real_save = torch.save

    def disk_full(obj, path, *a, **k):
        if obj["step"] > 2:
            real_save(obj, path, *a, **k)  # a half-written file, then the error
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path, *a, **k)

    monkeypatch.setattr(torch, "save", disk_full)
    train(run, max_steps_this_call=2)
    with pytest.raises(TrainingError, match=r"could not write the checkpoint of step 4 \(No space left on device\); "
                                            r"the previous checkpoint \(step 2\) is intact"):
        train(run, resume=True)
    monkeypatch.setattr(torch, "save", real_save)
    folder = tmp_path / "full"
    assert ckpt.read_metadata(folder)["step"] == 2 and ckpt.load_training_state(folder)["step"] == 2
    assert load_file(str(folder / "generator_AtoB.safetensors")).keys()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    train(run, resume=True)
    assert ckpt.read_metadata(folder)["step"] == 4


def test_temporaries_of_a_killed_save_are_removed_on_the_next_run(unpaired_data, tmp_path):
    run = _run("cyclegan", unpaired_data, tmp_path, "tmp", TINY_CYCLEGAN + ["steps=2", "save_every=1"])
    folder = train(run, max_steps_this_call=1)
    dead = folder / temporary_name("generator_AtoB.safetensors", pid=999999999)  # its writer is gone
    mine = folder / ".training_state.a1b2c3.tmp.pt"  # not provably ours (a user's, or an old release's)
    live = folder / temporary_name("generator_BtoA.safetensors", pid=os.getppid())  # another process writes it
    half = folder / "steps" / temporary_name("9", pid=999999999)  # a history folder being filled
    for path in (dead, mine, live):
        path.write_bytes(b"half")
    half.mkdir(parents=True)
    os.utime(mine, (time.time() - 7200, time.time() - 7200))
    train(run, resume=True)
    assert not dead.exists() and not half.exists()
    assert live.exists() and mine.read_bytes() == b"half"


def test_dataset_whose_every_file_is_unreadable_is_one_line(tmp_path, capsys):
    for side in ("trainA", "trainB"):
        (tmp_path / "d" / side).mkdir(parents=True)
        for i in range(2):
            (tmp_path / "d" / side / f"{i}.png").write_bytes(b"not a png")
    assert main(["train", "cyclegan", "--data", str(tmp_path / "d"), "--checkpoints-dir", str(tmp_path / "ck"),
                 "--size", "32", "--num-workers", "2", "--steps", "1", *TINY_CYCLEGAN]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every sample failed to read; unreadable files:" in err[0] and "0.png" in err[0]


def test_a_decompression_bomb_in_the_dataset_is_skipped_like_any_unreadable_file(unpaired_data, tmp_path, caplog):
    from trust_corpus import png_header_only

    png_header_only(unpaired_data / "trainA" / "bomb.png", 40000, 40000)
    run = _run("cyclegan", unpaired_data, tmp_path, "b", TINY_CYCLEGAN + ["steps=7"])
    assert ckpt.read_metadata(train(run))["step"] == 7
    assert "bomb.png: too large" in caplog.text


def test_resumed_run_keeps_the_sample_page_history(unpaired_data, tmp_path):
    run = _run("cyclegan", unpaired_data, tmp_path, "w", TINY_CYCLEGAN + ["steps=3", "sample_every=1"])
    folder = train(run, max_steps_this_call=2)
    train(run, resume=True)
    page = (folder / "web" / "index.html").read_text()
    assert all(f"step {s}</th>" in page for s in (1, 2, 3))
    assert page.count("step 3</th>") == 1


def test_history_keeps_the_best_evaluation_beside_the_last_saves(paired_data, tmp_path):
    import json
    import shutil

    shutil.copytree(paired_data / "train", paired_data / "test")
    run = _run("pix2pix", paired_data, tmp_path, "best", TINY_DROPOUT + [
        "steps=6", "save_every=1", "keep_last=1", "eval_every=2", "eval_metrics=[psnr]", "eval_max_images=2"])
    folder = train(run)
    best = json.loads((folder / "steps" / "best.json").read_text())
    log = {r["step"]: r["metrics"][0]["value"] for r in json.loads((folder / "eval_log.json").read_text())}
    assert best["metric"] == "psnr" and best["higher_is_better"] is True
    assert best["step"] == max(log, key=lambda s: (log[s], -s))  # the first of the highest
    assert run_history.history_steps(folder) == sorted({best["step"], 6})
    assert ckpt.read_metadata(folder / "steps" / str(best["step"]))["step"] == best["step"]
    # A resumed run's page keeps the quality table of the evaluations before it.
    run.train.steps = 8
    train(run, resume=True)
    page = (folder / "web" / "index.html").read_text()
    assert all(f"<tr><td>{s}</td>" in page for s in (2, 4, 6, 8))
