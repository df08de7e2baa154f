"""pix2pixHD with its feature encoder: trained codes, clusters in the model file, a look chosen per label."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from label_cars import TINY, make_cars, tiny_flags, train_feature_model

import translate
from translate.apply.model import Model
from translate.cli import main
from translate.config import ConfigError, resolve
from translate.errors import InvalidSettingError
from translate.registry import TRANSLATORS
from translate.training.loop import build_translator

torch.set_num_threads(1)



@pytest.fixture(scope="module")
def cars(tmp_path_factory):
    return make_cars(tmp_path_factory.mktemp("cars"))


_flags = tiny_flags


@pytest.fixture(scope="module")
def trained(cars, tmp_path_factory):
    return train_feature_model(cars, tmp_path_factory.mktemp("runs"))


def _run(data, tmp_path, *pairs):
    values = {"data": str(data), "name": "hd", "checkpoints_dir": str(tmp_path / "ck"), "size": 32,
              "num_workers": 0, "precision": "fp32", "tensorboard": False}
    return resolve("pix2pixhd", TRANSLATORS.get("pix2pixhd").Options(), cli_values=values,
                   set_pairs=TINY[:-1] + list(pairs))


def test_encoder_trains_with_g_and_only_g_reads_the_codes(cars, tmp_path):
    run, t = build_translator(_run(cars, tmp_path, "features=instance"))
    assert set(t.generators) == {"G", "E"}  # one optimiser: E learns from G's losses
    assert t.spec.in_channels == 2 + 1 + 3  # classes + instance edges + codes
    assert t.discriminators["D"].scales[0].blocks[0][0].in_channels == 2 + 1 + 3  # condition + photo, no codes
    assert set(t.exported()) == {"AtoB"}  # E is not a model of its own


def test_a_step_fills_the_bank_and_saves_clusters(cars, tmp_path):
    run, t = build_translator(_run(cars, tmp_path, "features=instance"))
    ds = TRANSLATORS.get("pix2pixhd").build_dataset(run)
    batch = {k: torch.stack([ds[i][k] for i in range(2)]) for k in ("A", "B", "inst")}
    result = t.generator_loss(batch)
    result.loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in t.generators["E"].parameters())
    assert int(t.bank.filled[1]) == 4  # two cars in each of two images
    record = t.exported()["AtoB"][1].preprocess["features"]
    assert record["per"] == "instance" and record["channels"] == 3 and set(record["clusters"]) == {"0", "1"}
    again = build_translator(_run(cars, tmp_path, "features=instance"))[1]
    again.load_extra_state(t.extra_state(), torch.device("cpu"))  # resume keeps the bank
    assert again.exported()["AtoB"][1].preprocess["features"] == record


def test_features_refused_where_they_cannot_apply(cars, tmp_path, paired_data):
    with pytest.raises(ConfigError, match="'features' is 'instance' but the run has no instance maps"):
        build_translator(_run(cars, tmp_path, "features=instance", "instance_maps=false"))
    with pytest.raises(ConfigError, match="'features' \\(label\\) needs input=label"):
        build_translator(_run(paired_data, tmp_path, "features=label", "input=rgb"))
    with pytest.raises(ConfigError, match="features"):
        build_translator(_run(cars, tmp_path, "features=objects"))
    run, t = build_translator(_run(cars, tmp_path, "features=label", "instance_maps=false"))
    assert t.spec.in_channels == 2 + 3 and t.spec.preprocess["features"]["per"] == "label"


def test_model_file_carries_clusters_and_apply_paints_the_chosen_one(trained, cars, tmp_path):
    meta = json.loads((trained / "translate.json").read_text())["generators"]["AtoB"]["preprocess"]
    assert 1 <= len(meta["features"]["clusters"]["1"]) <= 3
    outs = {}
    for name, choice in (("first", []), ("last", ["--features", f"1={len(meta['features']['clusters']['1']) - 1}"]),
                         ("random", ["--features", "random"])):
        assert main(["apply", "--checkpoint", str(trained), "--input", str(cars / "test_label"), "--output",
                     str(tmp_path / name), *choice]) == 0
        outs[name] = np.asarray(Image.open(tmp_path / name / "c0.png")).astype(int)
    assert outs["first"].shape == (32, 32, 3)
    if len(meta["features"]["clusters"]["1"]) > 1:
        assert np.abs(outs["first"] - outs["last"]).max() > 0  # the code reaches the picture
    model = translate.load(trained, features={1: 0})  # the Python API's form
    assert model.feature_choice.clusters == {1: 0}
    assert np.array_equal(np.asarray(model.translate_folder(cars / "test_label", tmp_path / "api", progress=False)
                                     .written and Image.open(tmp_path / "api" / "c0.png")).astype(int), outs["first"])


def test_bad_choices_are_refused_in_one_line(trained, cars, tmp_path, capsys):
    assert main(["apply", "--checkpoint", str(trained), "--input", str(cars / "test_label"), "--output",
                 str(tmp_path / "x"), "--features", "1=99"]) != 0
    err = capsys.readouterr().err
    assert "--features 1=99: label 1 has clusters 0-" in err and not (tmp_path / "x").exists()
    with pytest.raises(InvalidSettingError, match="'blue' is not LABEL=CLUSTER"):
        Model.from_file(trained, features="blue")


def test_a_model_without_the_encoder_refuses_a_choice(cars, tmp_path):
    assert main(["train", "pix2pixhd", "--data", str(cars), "--name", "plain", "--checkpoints-dir",
                 str(tmp_path), "--size", "32", "--steps", "1", "--num-workers", "0", *_flags()]) == 0
    assert Model.from_file(tmp_path / "plain").feature_clusters is None
    with pytest.raises(InvalidSettingError, match="not trained with pix2pixHD's feature encoder"):
        Model.from_file(tmp_path / "plain", features="1=0")


def test_resume_is_bit_identical_with_the_encoder(cars, tmp_path):
    common = ["train", "pix2pixhd", "--data", str(cars), "--checkpoints-dir", str(tmp_path), "--size", "32",
              "--num-workers", "0", "--seed", "3", *_flags("features=instance", "save_every=2")]
    assert main([*common, "--name", "straight", "--steps", "4"]) == 0
    assert main([*common, "--name", "halves", "--steps", "2"]) == 0
    assert main([*common, "--name", "halves", "--steps", "4", "--resume"]) == 0
    a = json.loads((tmp_path / "straight" / "translate.json").read_text())["generators"]["AtoB"]["preprocess"]
    b = json.loads((tmp_path / "halves" / "translate.json").read_text())["generators"]["AtoB"]["preprocess"]
    assert a["features"] == b["features"]
    from safetensors.torch import load_file
    wa = load_file(tmp_path / "straight" / "generator_AtoB.safetensors")
    wb = load_file(tmp_path / "halves" / "generator_AtoB.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_inspect_says_the_clusters_each_label_has(trained, capsys):
    assert main(["inspect", "--checkpoint", str(trained)]) == 0
    out = capsys.readouterr().out
    assert "reads label maps with a 3-number code per instance (pix2pixHD's feature encoder); clusters per label: 0: " \
        in out and "choose with apply --features LABEL=CLUSTER" in out
