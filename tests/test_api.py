"""The public Python API, run as README's "Use it from Python" section shows it."""
import numpy as np
import pytest
import torch

import translate
from translate import checkpoint as ckpt
from translate.checkpoint import GeneratorSpec
from translate.interop.loading import load_generator


def _tiny_run(folder, directions=("AtoB",), in_channels=3, out_channels=3):
    generators = {}
    for d in directions:
        spec = GeneratorSpec("resnet", in_channels, out_channels, {"ngf": 4, "n_blocks": 1, "norm": "instance"},
                             {"size": 32}, "cyclegan", d)
        torch.manual_seed(len(generators))
        generators[d] = (spec.build(), spec)
    ckpt.save_run(folder, generators, step=7, translator="cyclegan")
    return folder


def test_package_root_exposes_the_api_and_a_version():
    assert {"load", "train", "list_models", "Model", "TranslateError", "__version__"} <= set(dir(translate))
    assert translate.__version__.count(".") == 2
    with pytest.raises(AttributeError):
        translate.no_such_thing  # noqa: B018


def test_load_and_call_on_numpy_matches_the_generator(tmp_path):
    folder = _tiny_run(tmp_path / "run", ("AtoB", "BtoA"))
    g = translate.load(folder, precision="fp32")
    assert g.directions == ["AtoB", "BtoA"] and g.metadata["step"] == 7 and g.metadata["translator"] == "cyclegan"
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    out = g(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    net, _ = load_generator(folder, "AtoB")
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        padded = torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect")  # resnet needs multiples of 4
        expected = net.eval()(padded)[..., :37, :53]
    expected = ((expected.clamp(-1, 1) + 1) * 127.5).round().byte()[0].permute(1, 2, 0).numpy()
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
    other = translate.load(folder, direction="BtoA", precision="fp32")
    assert not np.array_equal(other(image), out)


def test_call_accepts_lists_grey_rgba_tensors_and_pil(tmp_path):
    from PIL import Image

    g = translate.load(_tiny_run(tmp_path / "run"), precision="fp32")
    rgb = np.full((20, 30, 3), 120, np.uint8)
    outs = g([rgb, rgb[..., :1], np.dstack([rgb, np.full((20, 30), 255, np.uint8)]), rgb[..., 0]])
    assert [o.shape for o in outs] == [(20, 30, 3)] * 4
    assert np.array_equal(outs[0], outs[2])  # alpha is dropped, not translated
    tensor = torch.zeros(3, 20, 30)
    assert g(tensor).shape == (3, 20, 30) and g(tensor[None]).shape == (1, 3, 20, 30)
    pil = g(Image.fromarray(rgb))
    assert isinstance(pil, Image.Image) and pil.size == (30, 20)


def test_bad_inputs_are_translate_errors(tmp_path):
    g = translate.load(_tiny_run(tmp_path / "run"))
    with pytest.raises(translate.TranslateError, match="uint8"):
        g(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(translate.TranslateError, match="cannot translate a str"):
        g("image.png")
    with pytest.raises(translate.TranslateError, match="no such checkpoint"):
        translate.load(tmp_path / "missing")
    with pytest.raises(translate.TranslateError, match="unknown video option"):
        g.translate_video(tmp_path / "a.mp4", tmp_path / "b.mp4", sharpness=3)


def test_to_changes_precision_and_the_repr_says_so(tmp_path):
    g = translate.load(_tiny_run(tmp_path / "run"), precision="fp32")
    assert "fp32" in repr(g) and g.dtype is None
    assert g.to("cpu", precision="bf16") is g and g.dtype == torch.bfloat16
    assert g(np.zeros((8, 8, 3), np.uint8)).shape == (8, 8, 3)


def test_translate_video_keeps_frames(tmp_path):
    from video_clips import make_video

    from translate.video.io import probe

    src = make_video(tmp_path / "in.mp4", frames=6, width=32, height=24)
    g = translate.load(_tiny_run(tmp_path / "run"), precision="fp32")
    heard = []
    result = g.translate_video(src, tmp_path / "out.mp4", progress=False, on_frames=heard.append)
    info = probe(tmp_path / "out.mp4")
    assert result.frames_out == 6 and (info.width, info.height) == (32, 24) and sum(heard) == 6


def test_tile_setting_is_applied(tmp_path):
    folder = _tiny_run(tmp_path / "run")
    assert translate.load(folder).net.mode == "auto"
    tiled = translate.load(folder, tile=16, precision="fp32")
    assert tiled.net.mode == "on" and tiled.net.spec.size == 16
    assert tiled(np.zeros((40, 40, 3), np.uint8)).shape == (40, 40, 3)
    with pytest.raises(translate.TranslateError, match="tile mode"):
        translate.load(folder, tile="sometimes")


def test_train_from_python_then_load(tmp_path, unpaired_data):
    folder = translate.train("cyclegan", data=unpaired_data, steps=2, name="py", checkpoints_dir=tmp_path / "ck",
                             size=32, num_workers=0, precision="fp32", log_every=1,
                             set={"ngf": 8, "ndf": 8, "generator": "resnet_6blocks", "pool_size": 0})
    assert folder == tmp_path / "ck" / "py"
    g = translate.load(folder)
    assert g.metadata["step"] == 2 and g.spec.kwargs["ngf"] == 8
    with pytest.raises(translate.TranslateError, match="lambda_cycel"):
        translate.train("cyclegan", data=unpaired_data, steps=1, checkpoints_dir=tmp_path / "ck",
                        set={"lambda_cycel": 5})


def test_list_models_is_what_the_cli_prints(capsys):
    from translate.cli import main

    zoo = translate.list_models()
    assert {"translators", "generators", "discriminators", "losses", "pipelines"} == set(zoo)
    assert "pix2pix" in dict(zoo["translators"]) and "unet_256" in dict(zoo["generators"])
    assert "dance" in dict(zoo["pipelines"]) and "faceswap" in dict(zoo["pipelines"])
    assert main(["models"]) == 0
    printed = capsys.readouterr().out
    for name, _ in zoo["translators"] + zoo["losses"] + zoo["pipelines"]:
        assert name in printed
