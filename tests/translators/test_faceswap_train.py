"""The Face-off preset: its options, mask weighting, gradients, and a tiny `translate train faceswap` run."""
import numpy as np
import skimage.data
import torch

from face_clips import make_face_video
from translate.cli import main
from translate.config import resolve
from translate.data.io import write_image
from translate.registry import TRANSLATORS
from translate.translators.faceswap import FaceDataset, FaceSwapOptions

TINY = ["generator=unet", "generator_options={num_downs: 5}", "ngf=4", "ndf=4", "n_layers_d=2", "n_layers_d2=1"]


def _translator(tmp_path, extra=()):

    run = resolve("faceswap", FaceSwapOptions(), cli_values={
        "data": str(tmp_path), "name": "x", "checkpoints_dir": str(tmp_path), "size": 32, "num_workers": 0,
        "precision": "fp32", "tensorboard": False}, set_pairs=TINY + list(extra))
    return TRANSLATORS.get("faceswap")(run.model, run.train)


def _batch(mask_value=1.0):
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1, torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    mask = torch.full((2, 1, 32, 32), mask_value)
    return {"A": a, "B": b, "mask_A": mask, "mask_B": mask.clone()}


def test_preset_is_the_face_off_recipe():
    o = FaceSwapOptions()
    assert (o.generator, o.gan_mode, o.norm_d, o.pool_size) == ("unet_128", "wgangp", "none", 0)
    assert o.lambda_ssim > 0 and o.lambda_gp > 0 and 0 <= o.mask_background < 1
    assert "faceswap" in TRANSLATORS.names()


def test_zero_mask_ignores_every_pixel_of_the_reconstruction(tmp_path):
    t = _translator(tmp_path, ["mask_background=0", "lambda_ssim=0"])
    zero = t.generator_loss(_batch(0.0)).logs
    one = t.generator_loss(_batch(1.0)).logs
    for key in ("cycle_A", "cycle_B", "idt_A", "idt_B"):
        assert zero[key].item() == 0.0 and one[key].item() > 0.0


def test_preset_losses_have_gradients_with_two_critics(tmp_path):
    t = _translator(tmp_path, ["second_discriminator=true", "second_weight=0.3"])
    assert set(t.discriminators) == {"D_A", "D_B", "D_A2", "D_B2"}
    out = t.generator_loss(_batch())
    assert "ssim_A" in out.logs
    out.loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in t.generators.parameters() if p.dim() > 1)
    d = t.discriminator_loss(_batch(), out.fakes)
    d.loss.backward()
    for name in ("D_A", "D_A2", "D_B2"):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in t.discriminators[name].parameters())
    assert "D_A2" in d.logs


def _face_dataset(root, tmp_path):
    video = make_face_video(tmp_path / "a.mp4", frames=4, audio=False)
    assert main(["faces", "extract", str(video), str(root / "trainA"), "--crop-size", "32", "--no-progress"]) == 0
    # B: real faces from scikit-image's LFW subset (grey, 25x25), as plain crops without masks.
    faces = skimage.data.lfw_subset()[:4]
    for i, face in enumerate(faces):
        grey = (np.kron(face, np.ones((2, 2)))[:32, :32] * 255).astype(np.uint8)
        grey = np.pad(grey, ((0, 32 - grey.shape[0]), (0, 32 - grey.shape[1])), mode="edge")
        write_image(root / "trainB" / f"b{i}.png", np.repeat(grey[..., None], 3, axis=2))


def test_dataset_reads_masks_beside_the_crops(tmp_path):
    from translate.data import PreprocessConfig

    root = tmp_path / "swap"
    _face_dataset(root, tmp_path)
    ds = FaceDataset(root, preprocess=PreprocessConfig("crop", 32, 32, flip=True), train=True)
    item = ds[0]
    assert item["mask_A"].shape == (1, 32, 32) and 0 < item["mask_A"].mean() < 1  # a real face mask
    assert item["mask_B"].min() == 1.0  # no masks for B: full weight


def test_translate_train_faceswap_runs_and_saves_a_checkpoint(tmp_path):
    root = tmp_path / "swap"
    _face_dataset(root, tmp_path)
    args = ["train", "faceswap", "--data", str(root), "--name", "a2b", "--checkpoints-dir", str(tmp_path / "ck"),
            "--size", "32", "--steps", "2", "--set", "num_workers=0", "--set", "precision=fp32",
            "--set", "tensorboard=false", "--set", "load_size=32"]
    for pair in TINY:
        args += ["--set", pair]
    assert main(args) == 0
    from translate.checkpoint import load_generator

    net, spec = load_generator(tmp_path / "ck" / "a2b", "AtoB")
    assert spec.translator == "faceswap" and spec.preprocess["faces"] and spec.preprocess["size"] == 32


def test_faceswap_run_resumes(tmp_path):
    root = tmp_path / "swap"
    _face_dataset(root, tmp_path)
    args = ["train", "faceswap", "--data", str(root), "--name", "r", "--checkpoints-dir", str(tmp_path / "ck"),
            "--size", "32", "--set", "num_workers=0", "--set", "precision=fp32", "--set", "tensorboard=false",
            "--set", "load_size=32", "--set", "second_discriminator=true"]
    for pair in TINY:
        args += ["--set", pair]
    assert main(args + ["--steps", "1"]) == 0
    assert main(args + ["--steps", "3", "--resume"]) == 0
    from translate.checkpoint import load_training_state

    assert load_training_state(tmp_path / "ck" / "r")["step"] == 3
