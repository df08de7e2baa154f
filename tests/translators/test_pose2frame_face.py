"""pose2frame's face stage: the head found in figures, G_face/D_face training, export, dance with it."""
import av
import cv2
import numpy as np
import torch

from pose_clips import TINY, _batch, _run, dancer, walker  # noqa: F401  (fixture)
from pose_clips import astronaut_frames, write_clip
from translate.training.loop import build_translator
from translate.checkpoint import load_generator
from translate.cli import main
from translate.people.poses import face_crop
from translate.people.poses.render import render_pose
from translate.people.poses.skeletons import Pose, convert
from translate.registry import TRANSLATORS
from translate.training.trainer import Trainer

FACE = ["face_gan=true", "face_size=16", "ngf_face=4", "face_blocks=1"]


def _tensor(image):
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_head_is_found_where_the_face_limbs_are_even_after_downscaling():
    pose = convert(Pose("coco18", walker(0, size=32).points * [2, 2, 1]), "coco18")  # a 64 px figure
    nose = pose.joint("nose")
    figure = render_pose(pose, (64, 64))
    (x, y), = face_crop.head_centres(_tensor(figure))
    assert abs(x - nose[0]) <= 3 and abs(y - nose[1]) <= 8
    small = cv2.resize(figure, (32, 32), interpolation=cv2.INTER_AREA)  # limbs darkened and blended with black
    (xs, ys), = face_crop.head_centres(_tensor(small))
    assert abs(xs - x / 2) <= 2 and abs(ys - y / 2) <= 3
    assert face_crop.head_centres(_tensor(np.zeros((32, 32, 3), np.uint8))) == [None]


def test_boxes_stay_inside_and_paste_puts_crops_back():
    assert face_crop.box_at((2, 30), 16, 32, 32) == (0, 16)
    images = torch.zeros(1, 3, 32, 32)
    out = face_crop.paste(images, torch.ones(1, 3, 16, 16), [(4, 8)])
    assert out[0, :, 8:24, 4:20].eq(1).all() and out.sum() == 3 * 16 * 16 and images.sum() == 0


def test_face_stage_trains_and_exports_and_freeze_body_keeps_the_body(dancer, tmp_path):  # noqa: F811
    run = _run(dancer, tmp_path, FACE + ["freeze_body=true"])
    translator = TRANSLATORS.get("pose2frame")(run.model, run.train)
    assert set(translator.exported()) == {"AtoB", "face"}
    trainer = Trainer(translator, run.train, torch.device("cpu"), None, total_steps=10)
    body = {k: v.clone() for k, v in translator.generators["G"].state_dict().items()}
    face = {k: v.clone() for k, v in translator.generators["G_face"].state_dict().items()}
    results = trainer.step(_batch(run))
    logs = {k: v for r in results for k, v in r.logs.items()}
    assert {"G_face", "D_face"} <= set(logs)
    assert all(torch.equal(v, translator.generators["G"].state_dict()[k]) for k, v in body.items())
    assert any(not torch.equal(v, translator.generators["G_face"].state_dict()[k]) for k, v in face.items())


def test_dance_uses_the_face_generator_of_the_checkpoint(dancer, tmp_path):  # noqa: F811
    assert main(["train", "pose2frame", "--data", str(dancer), "--name", "f", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "1", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + FACE + ["tensorboard=false", "flip=false"]), [])]) == 0
    net, spec = load_generator(tmp_path / "ck" / "f", "face")
    assert spec.direction == "face" and spec.preprocess["face_size"] == 16
    body, _ = load_generator(tmp_path / "ck" / "f")
    run = _run(dancer, tmp_path, FACE + ["freeze_body=true", f"body_weights={tmp_path / 'ck' / 'f'}"])
    started = build_translator(run)[1].generators["G"].state_dict()
    assert all(torch.equal(v, started[k]) for k, v in body.state_dict().items())  # the face run starts from the body
    source = write_clip(tmp_path / "s.mp4", astronaut_frames(3, size=48))
    out = tmp_path / "o.mp4"
    assert main(["dance", "--checkpoint", str(tmp_path / "ck" / "f"), "--source", str(source), "--output", str(out),
                 "--no-normalise"]) == 0
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 3
