import pytest

from translate.config import ConfigError, TrainConfig, load_yaml, parse_set_pairs, resolve
from translate.translators.cyclegan import CycleGANOptions
from translate.translators.pix2pix import Pix2PixOptions


def test_presets_carry_the_papers_defaults():
    p = Pix2PixOptions()
    assert (p.generator, p.norm, p.dropout, p.gan_mode, p.lambda_l1) == ("unet_256", "batch", True, "vanilla", 100.0)
    c = CycleGANOptions()
    assert (c.generator, c.norm, c.gan_mode, c.lambda_cycle, c.lambda_identity, c.pool_size) == (
        "resnet_9blocks", "instance", "lsgan", 10.0, 0.5, 50)
    t = TrainConfig()
    assert (t.lr, t.beta1, t.size) == (2e-4, 0.5, 256)


def test_layers_yaml_then_flags_then_set(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("batch_size: 3\nlambda_cycle: 7\nsize: 64\n")
    run = resolve("cyclegan", CycleGANOptions(), [str(cfg)], {"size": 128, "steps": None},
                  ["lambda_cycle=2.5", "generator=resnet_6blocks"])
    assert run.train.batch_size == 3  # from YAML
    assert run.train.size == 128  # flag beats YAML
    assert run.model.lambda_cycle == 2.5  # --set beats YAML
    assert run.model.generator == "resnet_6blocks"
    assert run.train.load_size == 143  # 128 * 286 / 256


def test_unknown_key_names_nearest_valid_keys():
    with pytest.raises(ConfigError) as err:
        resolve("cyclegan", CycleGANOptions(), set_pairs=["lambda_cycel=3"])
    assert "lambda_cycel" in str(err.value) and "lambda_cycle" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("pair,fragment", [
    ("batch_size=abc", "expects int"),
    ("lambda_l1=yes", "expects float"),
    ("flip=3", "expects bool"),
    ("precision=fp64", "must be one of"),
    ("size=0", "at least 1"),
])
def test_wrong_values_are_one_line_errors(pair, fragment):
    with pytest.raises(ConfigError) as err:
        resolve("pix2pix", Pix2PixOptions(), set_pairs=[pair])
    assert fragment in str(err.value)
    assert pair.split("=")[0] in str(err.value)


def test_int_accepted_for_float_and_null_for_optional():
    run = resolve("pix2pix", Pix2PixOptions(), set_pairs=["lambda_l1=50", "steps=null", "norm_d=instance"])
    assert run.model.lambda_l1 == 50.0 and isinstance(run.model.lambda_l1, float)
    assert run.train.steps is None and run.model.norm_d == "instance"


def test_set_pair_syntax():
    assert parse_set_pairs(["a=1", "b=x=y", "c={n: 2}"]) == {"a": 1, "b": "x=y", "c": {"n": 2}}
    with pytest.raises(ConfigError):
        parse_set_pairs(["novalue"])


def test_saved_config_round_trips(tmp_path):
    run = resolve("cyclegan", CycleGANOptions(), set_pairs=["lambda_cycle=4", "batch_size=2"])
    run.save(tmp_path / "config.yaml")
    again = resolve("cyclegan", CycleGANOptions(), [str(tmp_path / "config.yaml")])
    assert again.to_dict() == run.to_dict()


def test_bad_yaml_is_reported_with_its_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(bad)
    assert str(bad) in str(err.value)


def test_translator_train_defaults_sit_below_every_user_layer(tmp_path):
    run = resolve("cyclegan", CycleGANOptions(), train_defaults={"size": 64})
    assert run.train.size == 64 and run.train.load_size == 72
    run = resolve("cyclegan", CycleGANOptions(), cli_values={"size": 128}, train_defaults={"size": 64})
    assert run.train.size == 128


def test_discogan_and_cogan_train_at_64_by_default(unpaired_data, tmp_path):
    from translate.registry import TRANSLATORS

    for name in ("discogan", "cogan"):
        assert TRANSLATORS.get(name).train_defaults["size"] == 64


def test_paper_preset_resolves_to_the_documented_values():
    from translate.config import PRESETS

    # The documented values (README "Quality levers"): the papers export the live generator,
    # use one LR for G and D, and show D the images as they are.
    assert PRESETS["paper"] == {"ema": False, "lr_d": None, "lr_decay_start": 0.5, "diff_augment": "",
                                "spectral_norm": False, "residual": False}
    for preset_args in ({"set_pairs": ["preset=paper", "ema=true", "ema_decay=0.9", "lr_d=1e-3",
                                       "diff_augment=color"]},):
        run = resolve("pix2pix", Pix2PixOptions(), **preset_args)
        assert run.train.preset == "paper"
    # The preset sits below every user layer: a preset key set explicitly still wins...
    run = resolve("cyclegan", CycleGANOptions(), cli_values={"preset": "paper"}, set_pairs=["ema=true"])
    assert run.train.ema is True and run.model.diff_augment == "" and run.train.lr_d is None
    # ...and keys the user did not set take the paper's values.
    run = resolve("cyclegan", CycleGANOptions(), set_pairs=["ema=true", "diff_augment=color", "lr_d=1e-3",
                                                             "preset=paper"])
    assert (run.train.ema, run.model.diff_augment, run.train.lr_d) == (True, "color", 1e-3)
    paper = resolve("pix2pix", Pix2PixOptions(), set_pairs=["preset=paper"])
    for key, value in PRESETS["paper"].items():
        holder = paper.train if hasattr(paper.train, key) else paper.model
        assert getattr(holder, key) == value, key


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown preset 'papr'"):
        resolve("pix2pix", Pix2PixOptions(), set_pairs=["preset=papr"])
    with pytest.raises(ConfigError, match="ema_decay"):
        resolve("pix2pix", Pix2PixOptions(), set_pairs=["ema_decay=1.0"])
