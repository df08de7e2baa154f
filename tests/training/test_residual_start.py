"""A fresh pix2pix run starts its residual colour map from the training pairs; a resume keeps it."""
import pytest
import torch
from safetensors.torch import load_file

from translate.training.loop import train

from conftest import TINY_PIX2PIX
from test_train import _run


def test_fresh_run_fits_the_colour_map_on_its_pairs(paired_data, tmp_path):
    # paired_data's B is A with its channels reversed: the least-squares map is that permutation.
    args = ["--set", "steps=1", "--set", "residual=true", "--set", "lr=0", "--set", "precision=fp32"]
    folder = train(_run("pix2pix", paired_data, tmp_path, "fit", args, TINY_PIX2PIX))
    weights = load_file(folder / "generator_AtoB.safetensors")
    reverse = torch.eye(3).flip(1)
    assert torch.allclose(weights["residual.start_weight"], reverse, atol=1e-3)
    assert torch.allclose(weights["residual.start_bias"], torch.zeros(3), atol=1e-3)


def test_auto_residual_is_decided_before_training_and_recorded(paired_data, tmp_path):
    """pix2pix's default residual: auto becomes true for its U-Net; config.yaml records the decision."""
    import yaml

    folder = train(_run("pix2pix", paired_data, tmp_path, "auto", ["--set", "steps=1"], TINY_PIX2PIX))
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["model"]["residual"] is True
    folder = train(_run("pix2pix", paired_data, tmp_path, "paper", ["--set", "steps=1", "--set", "preset=paper"],
                        TINY_PIX2PIX))
    assert yaml.safe_load((folder / "config.yaml").read_text())["model"]["residual"] is False


def test_auto_residual_rules():
    import pytest

    from translate.config import ConfigError
    from translate.translators.residual import decide_auto, keeps_the_input, residual_wanted

    photo = torch.rand(8, 3, 8, 8) * 2 - 1
    cartoon = (photo * 0.9).clamp(-1, 1)  # keeps the photo
    sketch = torch.full_like(photo, 0.9) - 0.1 * torch.rand_like(photo)  # does not
    assert keeps_the_input(photo, cartoon) and not keeps_the_input(photo, sketch)
    assert decide_auto("auto", "unet_256", 3, 3, lambda: (photo, sketch)) is True  # U-Net: always
    assert decide_auto("auto", "resnet_9blocks", 3, 3, lambda: (photo, sketch)) is False  # ResNet: by the data
    assert decide_auto("auto", "resnet_9blocks", 3, 3, lambda: (photo, cartoon)) is True
    assert decide_auto("auto", "resnet_9blocks", 3, 3) is True  # unpaired
    assert decide_auto("auto", "unet_256", 1, 3) is False  # cannot be built: off, no error
    assert decide_auto("auto", "pix2pixhd_global", 3, 3) is False
    assert decide_auto(False, "unet_256", 3, 3) is False and decide_auto(True, "unet", 1, 3) is True

    class Opts:
        generator, residual = "unet", True
    with pytest.raises(ConfigError, match="as many output as input channels"):
        residual_wanted(Opts, 1, 3)  # asked for explicitly: refused in one line
    Opts.residual = "maybe"
    with pytest.raises(ConfigError, match="true, false or auto"):
        residual_wanted(Opts, 3, 3)


@pytest.mark.parametrize("translator", ["cyclegan", "discogan"])
def test_fresh_unpaired_run_starts_both_maps_at_the_colour_transfer(translator, tmp_path):
    """B images are other images toned (red kept, blue darkened): the A -> B map starts where it
    darkens blue, the B -> A map where it brightens it back, and the two starts are each other's
    inverse (the transport map from B to A inverts the one from A to B). Any unpaired translator
    with residual generators (the Translator's default hook)."""
    import numpy as np

    from conftest import TINY_CYCLEGAN, _smooth_image, _write_png

    rng = np.random.default_rng(0)
    data = tmp_path / "toned"
    for i in range(8):
        _write_png(data / "trainA" / f"a{i}.png", _smooth_image(rng, 40))
        toned = _smooth_image(rng, 40).astype(float) * np.array([1.0, 0.8, 0.4])
        _write_png(data / "trainB" / f"b{i}.png", toned.astype(np.uint8))
    args = ["--set", "steps=1", "--set", "lr=0", "--set", "precision=fp32", "--set", "residual=true"]
    folder = train(_run(translator, data, tmp_path, "cyc", args, TINY_CYCLEGAN))
    forward = load_file(folder / "generator_AtoB.safetensors")["residual.start_weight"]
    backward = load_file(folder / "generator_BtoA.safetensors")["residual.start_weight"]
    assert forward[2, 2] < 0.6 and backward[2, 2] > 1.6 and 0.8 < forward[0, 0] < 1.2
    assert torch.allclose(forward @ backward, torch.eye(3), atol=0.05)
    # fit_colour_map=false: both start at the identity (the lever the benchmark measures).
    folder = train(_run(translator, data, tmp_path, "off", args + ["--set", "fit_colour_map=false"], TINY_CYCLEGAN))
    assert torch.equal(load_file(folder / "generator_AtoB.safetensors")["residual.start_weight"], torch.eye(3))


def test_fresh_run_starts_exactly_at_its_colour_map_unless_told_otherwise(paired_data, tmp_path):
    """zero_init_residual (default): with lr=0 the trained model returns exactly its fitted colour
    map of the input (here the channel swap of paired_data); false: the random network adds noise."""
    import numpy as np

    import translate
    from translate.data import read_image

    photo = read_image(sorted((paired_data / "train").glob("*.png"))[0])[:, :40]
    args = ["--set", "steps=1", "--set", "residual=true", "--set", "lr=0", "--set", "precision=fp32"]
    errors = {}
    for name, extra in (("exact", []), ("noisy", ["--set", "zero_init_residual=false"])):
        folder = train(_run("pix2pix", paired_data, tmp_path, name, args + extra, TINY_PIX2PIX))
        out = translate.load(folder)(photo)
        errors[name] = np.abs(out.astype(int) - photo[..., ::-1].astype(int)).mean()
    assert errors["exact"] < 0.05 and errors["noisy"] > 0.15  # a tiny network: small noise, but some


def test_a_resnet_run_reads_its_start_samples_once(tmp_path, monkeypatch):
    """residual: auto on a ResNet decides from training pairs, and the colour map then starts from
    the same pairs: one read (the loop's SampleSet), not one per hook."""
    import numpy as np

    import yaml

    from translate.data import samples as samples_module
    from conftest import _smooth_image, _write_png

    rng = np.random.default_rng(2)
    data = tmp_path / "toned"
    for i in range(6):  # B keeps A's structure, toned: returning the input beats the mean target
        a = _smooth_image(rng, 40)
        _write_png(data / "train" / f"{i}.png", np.concatenate([a, (a * 0.9).astype(np.uint8)], axis=1))
    reads = []
    spread = samples_module.spread_items
    monkeypatch.setattr(samples_module, "spread_items", lambda *a: reads.append(1) or spread(*a))
    tiny = TINY_PIX2PIX + ["--set", "generator=resnet", "--set", "generator_options={n_blocks: 1}"]
    folder = train(_run("pix2pix", data, tmp_path, "once", ["--set", "steps=1", "--set", "lr=0"], tiny))
    assert yaml.safe_load((folder / "config.yaml").read_text())["model"]["residual"] is True
    assert len(reads) == 1
    start = load_file(folder / "generator_AtoB.safetensors")["residual.start_weight"]
    assert torch.allclose(start, 0.9 * torch.eye(3), atol=0.05)  # fitted on those pairs


@pytest.mark.parametrize("translator", ["cyclegan", "cut"])
def test_a_frozen_colour_map_stays_at_its_start_while_the_network_learns(unpaired_data, tmp_path, translator):
    """learn_colour_map=false: the map's offsets get no gradient (they stay 0, so M stays at the
    colour transfer it started from) while the rest of the generator trains; true moves them."""
    from conftest import TINY_CYCLEGAN

    tiny = TINY_CYCLEGAN + (["--set", "num_patches=16", "--set", "projection_channels=8"] if translator == "cut" else [])
    args = ["--set", "steps=3", "--set", "precision=fp32", "--set", "residual=true"]
    thetas = {}
    for learn in ("true", "false"):
        folder = train(_run(translator, unpaired_data, tmp_path, learn, args + ["--set", f"learn_colour_map={learn}"],
                            tiny))
        weights = load_file(folder / "generator_AtoB.safetensors")
        thetas[learn] = weights["residual.theta_weight"].abs().max().item()
        assert weights["head.1.weight"].abs().max() > 0  # the network's zeroed output conv has learned
    assert thetas["false"] == 0.0 < thetas["true"]
