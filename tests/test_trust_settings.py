"""Every setting is applied or refused: generator options, real defaults, sizes that fit."""
import pytest

from translate.cli import main

from conftest import TINY_CYCLEGAN


@pytest.mark.parametrize("generator,options,fragment", [
    ("resnet_9blocks", "{n_blocks: 6}", "'n_blocks' is fixed by the preset 'resnet_9blocks'; use generator=resnet"),
    ("unet_256", "{num_downs: 6}", "'num_downs' is fixed by the preset 'unet_256'; use generator=unet"),
    ("resnet", "{n_blocks: six}", "option 'n_blocks' expects int, got 'six'"),
    ("resnet", "{n_block: 6}", "takes no option 'n_block'; did you mean n_blocks?"),
    ("resnet", "{n_blocks: 100000}", "'n_blocks' = 100000 is out of bounds"),
])
def test_generator_options_are_applied_or_refused_in_one_line(generator, options, fragment, unpaired_data,
                                                              tmp_path, capsys):
    argv = ["train", "cyclegan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path), "--steps", "1",
            "--size", "32", "--set", f"generator={generator}", "--set", f"generator_options={options}"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "run" / "training_state.pt").exists()


def test_applied_generator_options_are_what_inspect_reports(unpaired_data, tmp_path, capsys):
    from translate.checkpoint import load_generator

    argv = ["train", "cyclegan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path), "--steps", "1",
            "--size", "32", "--num-workers", "0", "--set", "tensorboard=false", *TINY_CYCLEGAN]
    assert main(argv) == 0
    net, spec = load_generator(tmp_path / "run")
    assert spec.kwargs["n_blocks"] == 1 and len(net.blocks) == 1


def test_help_config_gives_real_defaults_and_a_meaning_for_every_key(capsys):
    assert main(["train", "discogan", "--help-config"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    by_key = {row.split()[0]: row for row in rows}
    assert by_key["size"].split()[2] == "64"  # DiscoGAN's train_defaults, not TrainConfig's 256
    assert "training crop size" in by_key["size"]
    for row in rows:
        assert len(row.split(None, 3)) == 4, f"no meaning: {row}"


def test_train_help_lists_the_translators(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "one of: cogan, cut, cyclegan, discogan" in out


def test_a_size_that_does_not_fit_the_unet_names_a_generator_that_does(paired_data, tmp_path, capsys):
    assert main(["train", "pix2pix", "--data", str(paired_data), "--checkpoints-dir", str(tmp_path),
                 "--size", "64", "--steps", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "try --size 256" in err[0]
    assert '--set generator=unet --set "generator_options={num_downs: 6}"' in err[0]


def test_a_size_below_the_networks_minimum_is_one_line_not_a_torch_message(unpaired_data, tmp_path, capsys):
    argv = ["train", "cyclegan", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path), "--steps", "1",
            "--size", "8", "--set", "ngf=4", "--set", "ndf=4", "--set", "generator=resnet",
            "--set", "generator_options={n_blocks: 1}", "--set", "n_layers_d=3"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--size 8 is too small for CycleGAN's networks" in err[0], err
    assert "it needs --size >= 16" in err[0] or "it needs --size >= 32" in err[0]


def test_train_hd_below_pix2pixhd_minimum_is_one_line_in_the_users_size(tmp_path, capsys):
    from trust_corpus import smooth, write_png

    for i in range(2):
        write_png(tmp_path / "d" / "train_A" / f"{i}.png", smooth(i, 64, 64))
        write_png(tmp_path / "d" / "train_B" / f"{i}.png", smooth(i + 5, 64, 64))
    argv = ["train-hd", "--data", str(tmp_path / "d"), "--name", "h", "--checkpoints-dir", str(tmp_path / "ck"),
            "--size", "64", "--global-epochs", "1", "--local-epochs", "1", "--fix-global-epochs", "0",
            "--set", "input=rgb", "--set", "lambda_perceptual=0", "--num-workers", "0"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["translate train-hd: error: pix2pixHD needs --size >= 128 (the global stage trains at half size, "
                   "and its networks need >= 64)"]
