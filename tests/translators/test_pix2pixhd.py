"""pix2pixHD translator: inputs resolved from data, losses, global freezing, training, apply, train-hd."""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from translate.apply.batch import plan_media as plan_outputs
from translate.apply.images import apply_to_images
from translate.apply.model import Model
from translate.checkpoint import load_generator
from translate.cli import main
from translate.config import ConfigError, resolve
from translate.losses import FeatureMatchingLoss
from translate.registry import TRANSLATORS
from translate.training.loop import build_translator
from translate.training.trainer import Trainer

torch.set_num_threads(1)

TINY = ["ngf=8", "ndf=4", "n_downsample_global=2", "n_blocks_global=1", "n_blocks_local=1", "n_layers_d=2",
        "lambda_perceptual=0"]
COLOURS = np.array([[0, 0, 0], [200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]], np.uint8)


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _label_map(rng, h, w):
    """Blocky random regions of ids 0..4 (label 4 only in some maps)."""
    small = rng.integers(0, 5, (4, 5)).astype(np.uint8)
    return np.kron(small, np.ones((h // 4 + 1, w // 5 + 1), np.uint8))[:h, :w]


@pytest.fixture
def label_data(tmp_path):
    """pix2pixHD layout, Cityscapes-like names; the photo is a fixed colour per class."""
    rng = np.random.default_rng(0)
    root = tmp_path / "cityscapes_like"
    for split, n in (("train", 4), ("test", 2)):
        for i in range(n):
            h, w = (32, 40) if split == "train" else (29, 37)  # test sizes divide by nothing
            label = _label_map(rng, h, w)
            _save(root / f"{split}_label" / f"c_{i:03d}_gtFine_labelIds.png", label)
            _save(root / f"{split}_inst" / f"c_{i:03d}_gtFine_instanceIds.png", (label.astype(np.uint16) * 1000))
            if split == "train":
                _save(root / f"{split}_img" / f"c_{i:03d}_leftImg8bit.png", COLOURS[label])
    return root


def _run(data, tmp_path, extra=(), **cli):
    values = {"data": str(data), "name": "hd", "checkpoints_dir": str(tmp_path / "ck"), "size": 32,
              "num_workers": 0, "precision": "fp32", "tensorboard": False, "log_every": 1, **cli}
    return resolve("pix2pixhd", TRANSLATORS.get("pix2pixhd").Options(), cli_values=values,
                   set_pairs=TINY + list(extra))


def _translator(run):
    return build_translator(run)[1]


def _batch(run, n=4):
    ds = TRANSLATORS.get("pix2pixhd").build_dataset(run)
    items = [ds[i] for i in range(n)]
    return {k: torch.stack([it[k] for it in items]) for k in items[0] if isinstance(items[0][k], torch.Tensor)}


def test_infers_classes_and_instances_and_records_them(label_data, tmp_path):
    run, t = build_translator(_run(label_data, tmp_path))
    assert run.model.num_classes == 5 and run.model.instance_maps is True  # written back for config.yaml
    assert t.spec.in_channels == 6 and t.spec.architecture == "pix2pixhd_global"
    assert t.spec.preprocess["input"] == "label" and t.spec.preprocess["num_classes"] == 5
    assert t.discriminators["D"].num_scales == 2
    assert t.discriminators["D"].scales[0].blocks[0][0].in_channels == 6 + 3


def test_given_num_classes_too_small_names_the_file(label_data, tmp_path):
    with pytest.raises(ValueError, match=r"train_label/c_\d{3}_gtFine_labelIds\.png: label id 4 >= num_classes 3"):
        _translator(_run(label_data, tmp_path, ["num_classes=3"]))


def test_local_generator_width_from_global_ngf(label_data, tmp_path):
    t = _translator(_run(label_data, tmp_path, ["generator=pix2pixhd_local"]))
    assert t.spec.kwargs["ngf"] == 4 and t.generators["G"].global_trunk.width == 8
    with pytest.raises(ConfigError, match="must divide"):
        _translator(_run(label_data, tmp_path, ["generator=pix2pixhd_local", "ngf=6", "n_local_enhancers=2"]))


def test_feature_matching_is_zero_for_identical_inputs(label_data, tmp_path):
    run = _run(label_data, tmp_path)
    d = _translator(run).discriminators["D"]
    x = torch.rand(2, 9, 32, 32)
    assert FeatureMatchingLoss()(d.forward_features(x), d.forward_features(x)).item() == 0.0
    assert FeatureMatchingLoss()(d.forward_features(x), d.forward_features(x + 0.5)).item() > 0


def test_missing_vgg_weights_say_which_file(label_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    with pytest.raises(FileNotFoundError, match="vgg19-dcbb9e9d.pth"):
        _translator(_run(label_data, tmp_path, ["lambda_perceptual=10"]))


def test_training_steps_bring_outputs_towards_targets(label_data, tmp_path):
    run = _run(label_data, tmp_path, lr=0.002, flip=False)
    trainer = Trainer(_translator(run), run.train, torch.device("cpu"), None, total_steps=1000)
    batch = _batch(run)

    def error():
        with torch.no_grad():
            return (trainer.translator.generators["G"](trainer.translator.condition(batch)) - batch["B"]).abs().mean()

    first_fm, before = trainer.step(batch)[0].logs["G_fm"].item(), error()
    for _ in range(30):
        out = trainer.step(batch)[0]
    assert out.logs["G_fm"].item() < first_fm
    assert error() < 0.7 * before


def test_frozen_global_thaws_after_fix_global_steps(label_data, tmp_path):
    run = _run(label_data, tmp_path, ["generator=pix2pixhd_local", "fix_global_steps=2"])
    translator = _translator(run)
    trainer = Trainer(translator, run.train, torch.device("cpu"), None, total_steps=10)
    trunk = translator.generators["G"].global_trunk
    enh = translator.generators["G"].enhancers[0]
    start = [p.clone() for p in trunk.parameters()], [p.clone() for p in enh.parameters()]
    batch = _batch(run, 2)
    for _ in range(2):
        trainer.step(batch)
    assert all(torch.equal(a, b) for a, b in zip(start[0], trunk.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(start[1], enh.parameters()))
    trainer.step(batch)
    assert not all(torch.equal(a, b) for a, b in zip(start[0], trunk.parameters()))


def test_global_weights_initialise_the_local_trunk(label_data, tmp_path):
    main(["train", "pix2pixhd", "--data", str(label_data), "--name", "g", "--checkpoints-dir", str(tmp_path / "ck"),
          "--size", "32", "--steps", "2", "--num-workers", "0", "--precision", "fp32",
          *sum((["--set", s] for s in TINY + ["tensorboard=false"]), [])])
    global_net, _ = load_generator(tmp_path / "ck" / "g")
    run = _run(label_data, tmp_path, ["generator=pix2pixhd_local", f"global_weights={tmp_path / 'ck' / 'g'}"])
    local = _translator(run).generators["G"]
    for a, b in zip(global_net.trunk.state_dict().values(), local.global_trunk.state_dict().values()):
        assert torch.equal(a, b)
    bad = _run(label_data, tmp_path, ["generator=pix2pixhd_global", f"global_weights={tmp_path / 'ck' / 'g'}"])
    with pytest.raises(ConfigError, match="pix2pixhd_local"):
        _translator(bad)


def test_train_then_apply_any_size_label_maps(label_data, tmp_path):
    assert main(["train", "pix2pixhd", "--data", str(label_data), "--name", "l2c", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "3", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false"]), [])]) == 0
    folder = tmp_path / "ck" / "l2c"
    meta = json.loads((folder / "translate.json").read_text())["generators"]["AtoB"]
    assert meta["preprocess"]["num_classes"] == 5 and meta["preprocess"]["instance_maps"] is True
    model = Model.from_file(folder, device="cpu", precision="fp32")
    pairs = plan_outputs(label_data / "test_label", tmp_path / "out")
    report = apply_to_images(model, pairs, batch_size=2, progress=False)
    assert report.ok and len(report.written) == 2
    assert np.asarray(Image.open(report.written[0])).shape == (29, 37, 3)  # padded to 16, cropped back
    # --size resizes label maps nearest-neighbour: still one-hot, so the output differs from garbage
    sized = apply_to_images(model, pairs[:1], size=50, progress=False)
    assert np.asarray(Image.open(sized.written[0])).shape[1] == 50


def test_apply_reports_a_label_id_beyond_the_checkpoints_classes(label_data, tmp_path):
    from translate.apply.inputs import LabelInput

    bad = tmp_path / "bad_label" / "x.png"
    _save(bad, np.full((16, 16), 9, np.uint8))
    with pytest.raises(ValueError, match=r"x\.png: label id 9 >= num_classes 5"):
        LabelInput(num_classes=5).read(bad, None)


def test_nearest_resize_keeps_ids(tmp_path):
    from translate.apply.inputs import LabelInput

    path = tmp_path / "test_label" / "x.png"
    label = np.zeros((20, 30), np.uint8)
    label[:, 15:] = 4
    _save(path, label)
    ids = LabelInput(num_classes=5, instance_maps=True).read(path, 47)
    assert ids.shape == (31, 47, 2) and set(np.unique(ids[..., 0])) == {0, 4}
    x = LabelInput(num_classes=5, instance_maps=True).to_batch([ids])
    assert x.shape == (1, 6, 31, 47) and torch.equal(x[:, :5].sum(1), torch.ones(1, 31, 47))


def test_rgb_condition_images(paired_data, tmp_path):
    assert main(["train", "pix2pixhd", "--data", str(paired_data), "--name", "pose", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "2", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["input=rgb", "tensorboard=false"]), [])]) == 0
    net, spec = load_generator(tmp_path / "ck" / "pose")
    assert spec.in_channels == 3 and spec.preprocess["input"] == "rgb"


def test_train_hd_runs_global_then_local(label_data, tmp_path):
    ck = tmp_path / "ck"
    args = ["train-hd", "--data", str(label_data), "--name", "hd", "--checkpoints-dir", str(ck), "--size", "64",
            "--global-epochs", "1", "--local-epochs", "2", "--fix-global-epochs", "1", "--num-workers", "0",
            "--precision", "fp32", *sum((["--set", s] for s in TINY + ["tensorboard=false"]), [])]
    assert main(args) == 0
    g_meta = json.loads((ck / "hd_global" / "translate.json").read_text())
    l_meta = json.loads((ck / "hd" / "translate.json").read_text())
    assert g_meta["step"] == 4 and g_meta["generators"]["AtoB"]["architecture"] == "pix2pixhd_global"
    assert l_meta["step"] == 8 and l_meta["generators"]["AtoB"]["architecture"] == "pix2pixhd_local"
    # The global stage trained at half size; the local one at full size with one more D scale.
    assert "size: 32" in (ck / "hd_global" / "config.yaml").read_text()
    assert "num_scales: 3" in (ck / "hd" / "config.yaml").read_text()
    local = load_file(str(ck / "hd" / "generator_AtoB.safetensors"))
    glob = load_file(str(ck / "hd_global" / "generator_AtoB.safetensors"))
    # After thawing, the trunk moved on from the global stage's weights.
    assert not torch.equal(local["global_trunk.stem.1.weight"], glob["trunk.stem.1.weight"])
    assert main(args + ["--resume"]) == 0  # everything done: every stage is skipped
