"""A fresh pix2pix run starts its residual colour map from the training pairs; a resume keeps it."""
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
