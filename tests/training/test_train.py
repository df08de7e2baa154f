"""The training loop: learning happens, resume is exact, and DDP equals a bigger batch."""
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from translate.checkpoint import GeneratorSpec, load_generator, load_training_state
from translate.cli import main
from translate.config import resolve
from translate.registry import TRANSLATORS
from translate.training.loop import TrainingError, train
from translate.training.sampler import EpochSampler

from conftest import TINY_CYCLEGAN, TINY_PIX2PIX, torchrun_two_processes

# torchrun gives each process one OpenMP thread; the single-process runs compared with them must
# sum in the same order (with two threads the gloo comparison failed when this file ran alone).
torch.set_num_threads(1)


def _run(translator, data, ck, name, extra, tiny):
    pairs = [a for a in tiny + extra if a != "--set"]
    cls = TRANSLATORS.get(translator)
    return resolve(translator, cls.Options(), cli_values={
        "data": str(data), "name": name, "checkpoints_dir": str(ck), "size": 32,
        "num_workers": 0, "precision": "fp32", "tensorboard": False, "log_every": 1,
    }, set_pairs=pairs)


def _weights(folder, direction="AtoB"):
    return load_file(str(Path(folder) / f"generator_{direction}.safetensors"))


def test_pix2pix_steps_reduce_l1(paired_data, tmp_path):
    from translate.training.trainer import Trainer
    from translate.data import PairedDataset, PreprocessConfig

    run = _run("pix2pix", paired_data, tmp_path, "p", ["--set", "lr=0.002", "--set", "dropout=false"], TINY_PIX2PIX)
    translator = TRANSLATORS.get("pix2pix")(run.model, run.train)
    trainer = Trainer(translator, run.train, torch.device("cpu"), None, total_steps=1000)
    ds = PairedDataset(paired_data, preprocess=PreprocessConfig("crop", 40, 32, flip=False), train=False)
    batch = {k: torch.stack([ds[i][k] for i in range(4)]) for k in ("A", "B")}
    first = trainer.step(batch)[0].logs["G_l1"].item()
    for _ in range(40):
        last = trainer.step(batch)[0].logs["G_l1"].item()
    assert last < 0.6 * first


def test_cyclegan_steps_reduce_cycle_loss(unpaired_data, tmp_path):
    from translate.training.trainer import Trainer
    from translate.data import PreprocessConfig, UnpairedDataset

    # Plain generators: a residual one starts at an exact cycle (both maps the identity), loss 0.
    run = _run("cyclegan", unpaired_data, tmp_path, "c", ["--set", "lr=0.002", "--set", "pool_size=0",
                                                          "--set", "residual=false"], TINY_CYCLEGAN)
    translator = TRANSLATORS.get("cyclegan")(run.model, run.train)
    trainer = Trainer(translator, run.train, torch.device("cpu"), None, total_steps=1000)
    ds = UnpairedDataset(unpaired_data, preprocess=PreprocessConfig("crop", 40, 32, flip=False), train=False)
    batch = {k: torch.stack([ds[i][k] for i in range(4)]) for k in ("A", "B")}

    def cycle(out):
        return out.logs["cycle_A"].item() + out.logs["cycle_B"].item()

    first = cycle(trainer.step(batch)[0])
    for _ in range(60):
        last = cycle(trainer.step(batch)[0])
    assert last < 0.6 * first


@pytest.mark.parametrize("translator,tiny,data", [
    ("cyclegan", TINY_CYCLEGAN, "unpaired_data"),
    ("pix2pix", TINY_PIX2PIX, "paired_data"),  # dropout draws from the RNG: its state must resume too
])
def test_resume_continues_bit_identically(translator, tiny, data, tmp_path, request):
    root = request.getfixturevalue(data)
    straight = _run(translator, root, tmp_path, "straight", ["--set", "steps=9", "--set", "pool_size=3"]
                    if translator == "cyclegan" else ["--set", "steps=9"], tiny)
    train(straight)
    killed = _run(translator, root, tmp_path, "killed", ["--set", "steps=9", "--set", "pool_size=3"]
                  if translator == "cyclegan" else ["--set", "steps=9"], tiny)
    train(killed, max_steps_this_call=4)  # 6 samples/epoch: stops mid-epoch
    assert load_training_state(tmp_path / "killed")["step"] == 4
    train(killed, resume=True)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    sa, sb = load_training_state(tmp_path / "straight"), load_training_state(tmp_path / "killed")
    for key in sa["discriminators"]:
        assert torch.equal(sa["discriminators"][key], sb["discriminators"][key]), key


def test_seeded_fp32_runs_repeat(unpaired_data, tmp_path):
    for name in ("one", "two"):
        train(_run("cyclegan", unpaired_data, tmp_path, name, ["--set", "steps=3"], TINY_CYCLEGAN))
    a, b = _weights(tmp_path / "one", "BtoA"), _weights(tmp_path / "two", "BtoA")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_refuses_to_overwrite_an_existing_run(unpaired_data, tmp_path):
    run = _run("cyclegan", unpaired_data, tmp_path, "r", ["--set", "steps=1"], TINY_CYCLEGAN)
    train(run)
    with pytest.raises(TrainingError, match="--resume"):
        train(run)


def test_checkpoint_rebuilds_generator_without_flags(unpaired_data, tmp_path):
    run = _run("cyclegan", unpaired_data, tmp_path, "r", ["--set", "steps=1"], TINY_CYCLEGAN)
    folder = train(run)
    for direction in ("AtoB", "BtoA"):
        net, spec = load_generator(folder, direction)
        assert isinstance(spec, GeneratorSpec) and spec.direction == direction
        assert spec.architecture == "resnet" and spec.kwargs["n_blocks"] == 1
        x = torch.rand(1, 3, 32, 32) * 2 - 1
        assert net.eval()(x).shape == x.shape
    assert (folder / "web" / "index.html").exists()
    assert (folder / "config.yaml").exists()


def test_sampler_splits_one_batch_across_ranks():
    one = list(EpochSampler(10, batch_size=2, seed=3, world_size=1))
    r0 = list(EpochSampler(10, batch_size=1, seed=3, rank=0, world_size=2))
    r1 = list(EpochSampler(10, batch_size=1, seed=3, rank=1, world_size=2))
    for step in range(5):
        assert sorted(one[2 * step:2 * step + 2]) == sorted([r0[step], r1[step]])
    resumed = EpochSampler(10, batch_size=2, seed=3)
    resumed.set_position(0, 2)
    assert list(resumed) == one[4:]


def test_two_gloo_processes_equal_one_process_with_twice_the_batch(unpaired_data, tmp_path):
    common = ["cyclegan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path), "--size", "32",
              "--steps", "3", "--num-workers", "0", "--precision", "fp32", "--device", "cpu",
              "--set", "pool_size=0", "--set", "tensorboard=false", *TINY_CYCLEGAN]
    assert main(["train", *common, "--name", "single", "--batch-size", "2"]) == 0
    done = torchrun_two_processes(["train", *common, "--name", "ddp", "--batch-size", "1"], 29517)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("checkpoint: ") == 1, done.stdout  # once per job, not per process
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for direction in ("AtoB", "BtoA"):
        a, b = _weights(tmp_path / "single", direction), _weights(tmp_path / "ddp", direction)
        for key in a:
            # A conv bias right before an (affine-free) instance norm has a mathematically zero
            # gradient; Adam turns its rounding noise into full-size steps, so it is not compared.
            # It cannot change the output, which is compared below.
            if key.endswith("weight") or key.startswith("head"):
                torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
        net_a, _ = load_generator(tmp_path / "single", direction)
        net_b, _ = load_generator(tmp_path / "ddp", direction)
        with torch.no_grad():
            torch.testing.assert_close(net_a.eval()(x), net_b.eval()(x), rtol=1e-4, atol=1e-5)


def test_out_of_memory_is_a_one_line_error_naming_settings(unpaired_data, tmp_path):
    from translate.training.trainer import Trainer

    run = _run("cyclegan", unpaired_data, tmp_path, "oom", [], TINY_CYCLEGAN)
    translator = TRANSLATORS.get("cyclegan")(run.model, run.train)
    trainer = Trainer(translator, run.train, torch.device("cpu"), None, total_steps=10)

    def exhausted(batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    translator.generator_loss = exhausted
    trainer.g_step._loss_fn[0] = exhausted
    batch = {"A": torch.zeros(1, 3, 32, 32), "B": torch.zeros(1, 3, 32, 32)}
    with pytest.raises(TrainingError, match="out of memory on cpu at step 1: lower --batch-size"):
        trainer.step(batch)
