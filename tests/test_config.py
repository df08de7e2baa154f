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
    ("size=0", "must be between 8 and 16384"),
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


# --- Every key has a rule, and every rule refuses its neighbours (issue 21, "trust") -------------

# Keys whose values are checked where they are used, not by a Rule: paths and run names, the
# device (translate.devices), preprocess (translate.data's table of modes), the evaluation split
# and metrics (translate.eval), generator_options (builder_options, against the builder's own
# signature), diff_augment (DiffAugment's policies) and CUT's nce_layers (against the generator's
# own feature layers, tests/translators/test_cut.py).
FREE = {"data", "name", "checkpoints_dir", "device", "preprocess", "eval_split", "eval_metrics",
        "eval_weights_dir", "generator_options", "diff_augment", "vgg_weights", "global_weights",
        "body_weights", "nce_layers"}


def _translators():
    from translate.registry import TRANSLATORS

    return [(name, TRANSLATORS.get(name)) for name in TRANSLATORS.names()]


def _checked_keys(options_cls):
    """(key, rule) of every field whose type needs one: numbers and strings; bools need none."""
    import typing
    from dataclasses import fields

    from translate.config import rules_of

    hints = typing.get_type_hints(options_cls)
    rules = rules_of(options_cls)
    for f in fields(options_cls):
        kinds = {a for a in typing.get_args(hints[f.name]) or (hints[f.name],) if a is not type(None)}
        if kinds <= {bool} or f.name in FREE:
            continue
        yield f.name, rules.get(f.name)


@pytest.mark.parametrize("name,cls", _translators())
def test_every_number_and_name_of_every_translator_has_a_rule(name, cls):
    from translate.config import CheckedOptions

    assert issubclass(cls.Options, CheckedOptions), name
    for options_cls in (TrainConfig, cls.Options):
        missing = [key for key, rule in _checked_keys(options_cls) if rule is None]
        assert not missing, f"{options_cls.__name__}: no rule for {missing}"
    resolve(name, cls.Options(), train_defaults=cls.train_defaults)  # the defaults obey their rules


def _neighbours(rule, value):
    """Values just outside ``rule``, plus NaN and infinity for floats and a stranger for names."""
    if rule.choices is not None:
        return ["not_a_choice", 2] if not isinstance(value, int) else [2 if 2 not in rule.options() else 7, "x"]
    out = []
    step = 1 if isinstance(value, int) and not isinstance(value, bool) else 0.5
    if rule.low is not None:
        out.append(rule.low if rule.exclude_low else rule.low - step)
    if rule.high is not None:
        out.append(rule.high if rule.exclude_high else rule.high + step)
    if isinstance(value, float) or step == 0.5:
        out += [".nan", ".inf", "-.inf"]
    return out


def _neighbour_cases():
    cases = []
    for name, cls in _translators():
        # TrainConfig's keys are the same for every translator: checked once, with CycleGAN.
        pairs = [(cls.Options, cls.Options())] + ([(TrainConfig, TrainConfig())] if name == "cyclegan" else [])
        for options_cls, obj in pairs:
            for key, rule in _checked_keys(options_cls):
                value = getattr(obj, key)
                if value is None:  # Optional keys: the rule's own type decides the step
                    value = 1.0 if rule.low is not None and not float(rule.low).is_integer() else 1
                for bad in _neighbours(rule, value):
                    cases.append((name, key, bad))
    return cases


@pytest.mark.parametrize("name,key,bad", _neighbour_cases())
def test_values_next_to_every_range_are_refused_naming_the_key(name, key, bad):
    from translate.registry import TRANSLATORS

    cls = TRANSLATORS.get(name)
    with pytest.raises(ConfigError) as err:
        resolve(name, cls.Options(), set_pairs=[f"{key}={bad}"], train_defaults=cls.train_defaults)
    message = str(err.value)
    assert f"'{key}'" in message and "\n" not in message, message


@pytest.mark.parametrize("pair,fragment", [
    ("lr=inf", "'lr' must be a finite number"),
    ("lr=.nan", "'lr' must be a finite number"),
    ("lr_d=-1e-4", "'lr_d' must be between 0 and 1"),
    ("beta2=1.5", "'beta2' must be at least 0 and less than 1"),
    ("ema_decay=.nan", "'ema_decay' must be a finite number"),
    ("lambda_cycle=-1", "'lambda_cycle' must be between 0"),
    ("lambda_identity=-0.5", "'lambda_identity' must be between 0"),
    ("log_every=0", "'log_every' must be between 1"),
    ("save_every=0", "'save_every' must be between 1"),
    ("size=7", "'size' must be between 8"),
    ("epochs=0", "'epochs' must be between 1"),
    ("steps=0", "'steps' must be between 1"),
    ("keep_last=-1", "'keep_last' must be between 0"),
    ("sample_every=-1", "'sample_every' must be between 0"),
    ("ndf=0", "'ndf' must be between 1 and 4096"),
    ("ngf=-3", "'ngf' must be between 1 and 4096"),
    ("seed=-1", "'seed' must be between 0 and 4294967295"),
    ("seed=1180591620717411303424", "'seed' must be between 0 and 4294967295"),
    ("channels_b=4", "'channels_b' must be one of 1, 3"),
    ("cycle_loss=l3", "'cycle_loss' must be one of l1, mse, ssim"),
    ("residual=maybe", "'residual' must be one of true, false, auto"),
    ("generator=resnet_7blocks", "'generator' must be one of"),
    ("discriminator=patch", "'discriminator' must be one of"),
    ("name=", "'name' must name a run folder"),
    ("name=..", "'name' must name a run folder"),
])
def test_neighbours_named_in_the_issue_are_refused(pair, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        resolve("cyclegan", CycleGANOptions(), set_pairs=[pair])


def test_choices_come_from_the_tables_that_build_them():
    from translate.choices import PRECISIONS
    from translate.config import rules_of
    from translate.devices import _DTYPES
    from translate.losses.adversarial import ADVERSARIAL_MODES
    from translate.nets.layers import _INITS, _NORMS, _PADDINGS
    from translate.registry import DISCRIMINATORS, GENERATORS

    rules = rules_of(CycleGANOptions)
    assert set(rules["norm"].options()) == set(_NORMS) == set(rules["norm_d"].options())
    assert set(rules["padding"].options()) == set(_PADDINGS)
    assert set(rules["init"].options()) == set(_INITS)
    assert set(rules["gan_mode"].options()) == set(ADVERSARIAL_MODES)
    assert set(rules["generator"].options()) == set(GENERATORS.names())
    assert set(rules["discriminator"].options()) == set(DISCRIMINATORS.names())
    assert set(rules_of(TrainConfig)["precision"].options()) == set(PRECISIONS) == {"auto", *_DTYPES}


def test_every_architecture_key_is_a_key():
    from dataclasses import fields

    from translate.config import architecture_keys

    for name, cls in _translators():
        keys = {f.name for f in fields(cls.Options)}
        assert architecture_keys(cls.Options) <= keys, name
