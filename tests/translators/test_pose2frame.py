"""pose2frame: consecutive-pair data, temporal generator and pair discriminator shapes, training."""
import json

import cv2
import numpy as np
import torch

from safetensors.torch import load_file

from translate.checkpoint import load_generator
from translate.cli import main
from translate.data.frame_pairs import clip_of
from translate.registry import TRANSLATORS
from translate.training.trainer import Trainer

from pose_clips import TINY, _batch, _run, dancer  # noqa: F401  (dancer: a fixture)

torch.set_num_threads(1)


def test_clips_and_consecutive_pairs(dancer, tmp_path):
    assert clip_of("dancer_000012") == "dancer" and clip_of("a-7") == "a" and clip_of("frame") == "frame"
    for i in range(3):  # a second clip: its first frame must not pair with the first clip's last
        cv2.imwrite(str(dancer / "train_A" / f"other_{i:06d}.png"), np.zeros((32, 32, 3), np.uint8))
        cv2.imwrite(str(dancer / "train_B" / f"other_{i:06d}.png"), np.zeros((32, 32, 3), np.uint8))
    ds = TRANSLATORS.get("pose2frame").build_dataset(_run(dancer, tmp_path))
    assert len(ds) == 5 + 2
    item = ds[0]
    assert set(item) >= {"A_prev", "B_prev", "A", "B"} and item["A"].shape == (3, 32, 32)
    assert not torch.equal(item["A_prev"], item["A"])


def test_temporal_generator_and_pair_discriminator_shapes(dancer, tmp_path):
    run = _run(dancer, tmp_path)
    translator = TRANSLATORS.get("pose2frame")(run.model, run.train)
    assert translator.spec.in_channels == 6 and translator.spec.preprocess["input"] == "pose_sequence"
    assert translator.spec.preprocess["figure"]["skeleton"] == "coco18"
    batch = _batch(run)
    first = translator.generate(batch["A"], None)
    second = translator.generate(batch["A"], first)
    assert first.shape == second.shape == batch["B"].shape
    assert not torch.allclose(first, second)  # the previous frame is really an input
    real, fake = translator._sequences(batch, first, second)
    assert real.shape[1] == fake.shape[1] == 12
    preds = translator.discriminators["D"](real)
    assert len(preds) == 2  # two scales


def test_training_steps_on_pairs_reduce_the_loss(dancer, tmp_path):
    run = _run(dancer, tmp_path, lr=0.002)
    trainer = Trainer(TRANSLATORS.get("pose2frame")(run.model, run.train), run.train, torch.device("cpu"), None,
                      total_steps=1000)
    batch = _batch(run)

    def error():
        with torch.no_grad():
            t = trainer.translator
            return (t.generate(batch["A"], t.generate(batch["A_prev"], None)) - batch["B"]).abs().mean()

    before, first = error(), trainer.step(batch)[0].logs["G_fm"].item()
    for _ in range(25):
        out = trainer.step(batch)[0]
    assert out.logs["G_fm"].item() < first and error() < 0.8 * before


def test_translate_train_pose2frame_writes_a_checkpoint_dance_can_read(dancer, tmp_path):
    assert main(["train", "pose2frame", "--data", str(dancer), "--name", "dancer", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "2", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false"]), [])]) == 0
    net, spec = load_generator(tmp_path / "ck" / "dancer")
    assert spec.translator == "pose2frame" and spec.in_channels == 6 and spec.preprocess["temporal"] is True


def test_train_hd_schedule_runs_for_pose2frame(dancer, tmp_path):
    ck = tmp_path / "ck"
    assert main(["train-hd", "--translator", "pose2frame", "--data", str(dancer), "--name", "dancer",
                 "--checkpoints-dir", str(ck), "--size", "32", "--global-epochs", "1", "--local-epochs", "1",
                 "--fix-global-epochs", "0", "--num-workers", "0", "--precision", "fp32",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false", "n_blocks_local=1", "num_scales=1"]), [])]) == 0
    g_meta = json.loads((ck / "dancer_global" / "translate.json").read_text())
    l_meta = json.loads((ck / "dancer" / "translate.json").read_text())
    assert g_meta["generators"]["AtoB"]["translator"] == "pose2frame"
    assert l_meta["generators"]["AtoB"]["architecture"] == "pix2pixhd_local"
    net, spec = load_generator(ck / "dancer")
    assert spec.in_channels == 6 and spec.preprocess["input"] == "pose_sequence"


def test_train_hd_adds_the_face_stage_on_the_finished_body(dancer, tmp_path):
    ck = tmp_path / "ck"
    assert main(["train-hd", "--translator", "pose2frame", "--data", str(dancer), "--name", "dancer",
                 "--checkpoints-dir", str(ck), "--size", "32", "--global-epochs", "1", "--local-epochs", "1",
                 "--fix-global-epochs", "0", "--face-epochs", "1", "--num-workers", "0", "--precision", "fp32",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false", "n_blocks_local=1", "num_scales=1",
                                                     "face_size=16", "ngf_face=4", "face_blocks=1"]), [])]) == 0
    meta = json.loads((ck / "dancer_face" / "translate.json").read_text())
    assert "face" in meta["generators"]
    body = load_file(str(ck / "dancer" / "generator_AtoB.safetensors"))
    kept = load_file(str(ck / "dancer_face" / "generator_AtoB.safetensors"))
    assert all(torch.equal(body[k], kept[k]) for k in body)  # the body stays frozen in the face stage
