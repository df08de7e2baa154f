"""Issue 21 ("trust"), training: a bad setting is one line naming the key, a non-zero exit, no
traceback and no run files; a resumed run refuses what it cannot honour; the progress bar and
the torchrun output say what is true from step 1."""
import pytest

from translate.cli import main

from conftest import TINY_CYCLEGAN


def _argv(data, ck, *extra):
    return ["train", "cyclegan", "--data", str(data), "--checkpoints-dir", str(ck), "--name", "r",
            "--steps", "1", "--size", "32", "--num-workers", "0", "--set", "tensorboard=false",
            *TINY_CYCLEGAN, *extra]


def _sets(*pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


def _one_error_line(capsys):
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


# (argv extras, fragment of the one stderr line). The cases first, then their neighbours.
CASES = [
    (_sets("lr=-1"), "config key 'lr' must be between 0 and 1; got -1.0"),
    (_sets("lr=.nan"), "config key 'lr' must be a finite number"),
    (_sets("beta1=2"), "config key 'beta1' must be at least 0 and less than 1; got 2.0"),
    (_sets("gan_mode=foo"), "config key 'gan_mode' must be one of vanilla, lsgan, wgangp, hinge; got 'foo'"),
    (_sets("norm=xyz"), "config key 'norm' must be one of batch, instance, none; got 'xyz'"),
    (_sets("padding=mirror"), "config key 'padding' must be one of reflect, replicate, zero; got 'mirror'"),
    (_sets("init=magic"), "config key 'init' must be one of normal, xavier, kaiming, orthogonal; got 'magic'"),
    (_sets("seed=-1"), "config key 'seed' must be between 0 and 4294967295; got -1"),
    (_sets("seed=2**70"), "config key 'seed' expects int, got '2**70'"),
    (_sets(f"seed={2**70}"), "config key 'seed' must be between 0 and 4294967295"),
    (_sets("channels_a=2"), "config key 'channels_a' must be one of 1, 3; got 2"),
    (_sets("pool_size=-1"), "config key 'pool_size' must be between 0 and 10000; got -1"),
    (_sets("num_workers=-1"), "config key 'num_workers' must be between 0 and 1024; got -1"),
    (_sets("n_layers_d=40"), "config key 'n_layers_d' must be between 1 and 10; got 40"),
    (_sets("sample_every=-1"), "config key 'sample_every' must be between 0 and 1000000000; got -1"),
    (_sets("lr=inf"), "config key 'lr' must be a finite number"),
    (_sets("beta2=1.5"), "config key 'beta2' must be at least 0 and less than 1"),
    (_sets("ema_decay=.nan"), "config key 'ema_decay' must be a finite number"),
    (_sets("lambda_cycle=-1"), "config key 'lambda_cycle' must be between 0"),
    (_sets("lambda_gan=-1"), "config key 'lambda_gan' must be between 0"),
    (_sets("init_gain=.nan"), "config key 'init_gain' must be a finite number"),
    (_sets("log_every=0"), "config key 'log_every' must be between 1"),
    (_sets("keep_last=-1"), "config key 'keep_last' must be between 0"),
    (_sets("epochs=0"), "config key 'epochs' must be between 1"),
    (_sets("ndf=0"), "config key 'ndf' must be between 1 and 4096; got 0"),
    (_sets("ngf=-3"), "config key 'ngf' must be between 1 and 4096; got -3"),
    (_sets("residual=maybe"), "config key 'residual' must be one of true, false, auto"),
    (_sets("name=.."), "config key 'name' must name a run folder"),
    (_sets("checkpoints_dir="), "config key 'checkpoints_dir' must name a folder"),
    (["--size", "7"], "config key 'size' must be between 8 and 16384; got 7"),
    (_sets("load_size=16"), "must not exceed load_size (16)"),
    (["--batch-size", "100000"], "config key 'batch_size' must be between 1 and 65536; got 100000"),
    # Fits the rule, not the data: 7 images a step from a set of 6 would repeat them.
    (["--batch-size", "7"], "config key 'batch_size' is 7 but the training set has 6 images: use --batch-size 6 "
                            "or less"),
    # Fits the rule, not the crop: the discriminator's 4x4 convs would shrink 32 px to nothing.
    (_sets("n_layers_d=6"), "--size 32 is too small for CycleGAN's networks (D_A would be down to one pixel); it "
                            "needs --size >= 256, or a shallower discriminator (n_layers_d, num_scales)"),
    (_sets("n_layers_d=10"), "--size 32 is too small for CycleGAN's networks"),
]


@pytest.mark.parametrize("extra,fragment", CASES, ids=[" ".join(e) for e, _ in CASES])
def test_a_bad_setting_is_one_line_naming_it_and_writes_nothing(extra, fragment, unpaired_data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main(_argv(unpaired_data, ck, *extra)) == 1
    line = _one_error_line(capsys)
    assert fragment in line, line
    assert not ck.exists(), sorted(ck.rglob("*"))


def _trained(unpaired_data, tmp_path, capsys, steps="2"):
    ck = tmp_path / "ck"
    argv = _argv(unpaired_data, ck)
    argv[argv.index("--steps") + 1] = steps
    assert main(argv) == 0
    capsys.readouterr()
    return ck, ck / "r"


def _state(folder):
    from translate.checkpoint import load_training_state

    return load_training_state(folder)["step"]


def test_resume_refuses_an_architecture_change_by_name(unpaired_data, tmp_path, capsys):
    ck, folder = _trained(unpaired_data, tmp_path, capsys)
    saved = (folder / "config.yaml").read_text()
    assert main(_argv(unpaired_data, ck, "--resume", "--steps", "4", *_sets("ngf=8"))) == 1
    assert _one_error_line(capsys).endswith(
        "error: --resume: ngf is 4 in the saved run, 8 was asked; architecture keys cannot change on resume")
    assert main(_argv(unpaired_data, ck, "--resume", "--steps", "4", *_sets("generator_options={n_blocks: 2}"))) == 1
    assert "--resume: generator_options is {'n_blocks': 1} in the saved run" in _one_error_line(capsys)
    assert (folder / "config.yaml").read_text() == saved and _state(folder) == 2
    # A key that does not shape the networks may change.
    assert main(_argv(unpaired_data, ck, "--resume", "--steps", "3", *_sets("lambda_cycle=5"))) == 0
    assert _state(folder) == 3


def test_resume_asking_for_no_more_steps_is_an_error_not_a_silent_success(unpaired_data, tmp_path, capsys):
    ck, folder = _trained(unpaired_data, tmp_path, capsys, steps="3")
    for steps in ("1", "3"):
        assert main(_argv(unpaired_data, ck, "--resume", "--steps", steps)) == 1
        line = _one_error_line(capsys)
        assert f"is already at step 3 and {steps} steps were asked in all; ask for more steps" in line, line
    assert _state(folder) == 3


def test_saved_weights_that_do_not_fit_are_one_line(tmp_path):
    from translate.training.checks import TrainingError, load_state

    class Trainer:
        def load_state_dict(self, state):
            raise RuntimeError("Error(s) in loading state_dict for ModuleDict:\n\tsize mismatch for G.w")

    with pytest.raises(TrainingError) as info:
        load_state(Trainer(), {}, tmp_path)
    assert "\n" not in str(info.value) and "size mismatch for G.w" in str(info.value)


def test_a_batch_larger_than_the_data_names_both_under_torchrun(tmp_path):
    from translate.config import ConfigError, TrainConfig
    from translate.training.checks import check_batch_fits

    check_batch_fits(TrainConfig(batch_size=3), 6, 2)  # 3 per process x 2 processes = the set
    with pytest.raises(ConfigError, match="'batch_size' is 4 on each of 2 processes but the training set has 6 "
                                          "images: use --batch-size 3 or less"):
        check_batch_fits(TrainConfig(batch_size=4), 6, 2)
    with pytest.raises(ConfigError, match="use fewer processes"):
        check_batch_fits(TrainConfig(batch_size=1), 1, 2)


def test_the_python_api_is_told_how_to_resume_in_words_that_fit_it(unpaired_data, tmp_path):
    import translate
    from translate.training.loop import TrainingError

    kwargs = dict(steps=1, name="r", checkpoints_dir=tmp_path, size=32, num_workers=0, tensorboard=False,
                  set={"ngf": 4, "ndf": 4, "generator": "resnet", "generator_options": {"n_blocks": 1},
                       "n_layers_d": 2})
    translate.train("cyclegan", unpaired_data, **kwargs)
    with pytest.raises(TrainingError, match=r"exists: resume it \(--resume / resume=True\) or choose another name"):
        translate.train("cyclegan", unpaired_data, **kwargs)


@pytest.mark.parametrize("rank,printed", [("0", True), ("1", False), (None, True)])
def test_only_rank_zero_prints(rank, printed, monkeypatch, capsys):
    from translate.training.distributed import print_on_main

    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    print_on_main("checkpoint: x")
    assert (capsys.readouterr().out == "checkpoint: x\n") == printed


@pytest.mark.parametrize("images,seconds,shown", [
    (4, 2.0, ("img/s", "2.0")),
    (1, 1.0, ("img/s", "1.0")),
    (1, 40.0, ("s/img", "40.0")),  # read as 0.0 img/s before
    (2, 0.5, ("img/s", "4.0")),
    (0, 1.0, ("img/s", "-")),
])
def test_speed_says_seconds_per_image_below_one_image_a_second(images, seconds, shown):
    from translate.training.watch import speed

    assert speed(images, seconds) == shown


def test_progress_bar_shows_the_loss_terms_from_step_one(unpaired_data, tmp_path, monkeypatch, capsys):
    from translate.training import loop
    from translate.training.watch import Watcher

    shown = {}

    class Recording(Watcher):
        def step(self, step, logs, images):
            super().step(step, logs, images)
            shown[step] = dict(self.bar.postfix and [kv.split("=") for kv in self.bar.postfix.split(", ")] or [])

    monkeypatch.setattr(loop, "Watcher", Recording)
    argv = _argv(unpaired_data, tmp_path / "ck", *_sets("log_every=25"))
    argv[argv.index("--steps") + 1] = "3"
    assert main(argv) == 0
    assert {"G_A", "cycle_A", "D_A"} <= set(shown[1]), shown  # step 1, long before step 25
    assert ("img/s" in shown[1]) != ("s/img" in shown[1])
    assert shown[2] == shown[1]  # unlogged steps keep the last values


def test_a_hostile_config_file_is_one_line(tmp_path, unpaired_data, capsys):
    from translate.cli import main

    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 20000 + "]" * 20000 + "\n")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (5 * 2**20) + "\n")
    for path, fragment in ((deep, "nested too deeply"), (big, "is not a config file")):
        code = main(["train", "cyclegan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path / "ck"),
                     "--config", str(path)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and fragment in err[0] and path.name in err[0], err
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("pairs", [["ngf=4096"], ["generator_options={n_blocks: 100}", "ngf=1024"]])
def test_settings_that_build_huge_networks_are_refused_before_allocating(unpaired_data, tmp_path, capsys, pairs):
    """Each value passes its own range; together they would build tens of G parameters (case 6's
    class for training): counted on the meta device, refused in one line, nothing written."""
    import resource

    from translate.cli import main

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    argv = ["train", "cyclegan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path / "ck"),
            "--size", "32", "--steps", "1", "--num-workers", "0", "--set", "generator=resnet"]
    for pair in pairs:
        argv += ["--set", pair]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "over the limit of 1,000,000,000" in err[0] and "lower ngf" in err[0], err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 2 * 2**20  # under 2 GiB more (KiB)
    assert not (tmp_path / "ck").exists()
