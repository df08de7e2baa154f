"""Swapping faces back into frames, photos and a short clip with audio."""
import numpy as np
import pytest
import skimage.data
import torch
from torch import nn

from face_clips import face_frame, make_face_video
from translate.apply.model import Model
from translate.cli import main
from translate.data.io import read_image, write_image
from translate.people.faces_align import AlignSpec
from translate.people.faces_blend import BlendOptions
from translate.people.faces_detect import MediaPipeFaceDetector
from translate.pipelines.faceswap import FaceSwapper, SwapOptions
from video_clips import read_back

TINY = ["generator=unet", "generator_options={num_downs: 5}", "ngf=4", "ndf=4", "n_layers_d=2"]


class Negate(nn.Module):
    """A stand-in "translation" whose effect is unmistakable."""

    def forward(self, x):
        return -x


def _model(net):
    """A stand-in network as the inference object the swapper runs crops through (fp32, CPU)."""
    return Model.of_network(net, device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def detector():
    with MediaPipeFaceDetector() as d:
        yield d


def _far_from_face(shape, box, pad=1.0):
    x, y, w, h = np.asarray(box, int)
    far = np.ones(shape[:2], bool)
    far[max(0, int(y - pad * h)):int(y + (1 + pad) * h), max(0, int(x - pad * w)):int(x + (1 + pad) * w)] = False
    return far


def test_identity_swap_leaves_frames_nearly_unchanged(detector):
    frames = [face_frame(i) for i in range(4)]
    swapper = FaceSwapper(_model(nn.Identity()), detector, SwapOptions(AlignSpec(128)))
    out = swapper(frames)
    assert swapper.stats.swapped == 4 and swapper.stats.no_face == 0
    for a, b in zip(frames, out):
        diff = np.abs(a.astype(int) - b).max(axis=2)
        assert diff.mean() < 1.0


def test_swap_changes_the_face_and_nothing_far_from_it(detector):
    frame = face_frame(3)
    face = detector(frame)[0]
    swapper = FaceSwapper(_model(Negate()), detector,
                          SwapOptions(AlignSpec(64), blend=BlendOptions(color="none")))
    out = swapper([frame, np.zeros_like(frame)])
    assert swapper.stats.swapped == 1 and swapper.stats.no_face == 1
    np.testing.assert_array_equal(out[1], 0)  # no face: passed through untouched
    diff = np.abs(out[0].astype(int) - frame).sum(axis=2)
    assert diff[_far_from_face(frame.shape, face.box, 0.5)].max() == 0  # bit-identical away from the face
    nx, ny = face.landmarks[2].astype(int)
    assert diff[ny - 2:ny + 3, nx - 2:nx + 3].mean() > 60


class Steps(nn.Module):
    """Paints call k's crops a flat grey of 2k - 1 (-1, then +1): a jump that smoothing must soften."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.full_like(x, min(1.0, 2.0 * self.calls - 3.0))


def test_temporal_smoothing_blends_each_crop_with_the_previous_one(detector):
    frames = [face_frame(0), face_frame(0)]
    nose = detector(frames[0])[0].landmarks[2].astype(int)
    values = {}
    for temporal in (0.0, 0.5):
        swapper = FaceSwapper(_model(Steps()), detector,
                              SwapOptions(AlignSpec(64), blend=BlendOptions(color="none"), temporal=temporal))
        swapper([frames[0]])  # call 1: black crop
        values[temporal] = int(swapper([frames[1]])[0][nose[1], nose[0]].mean())  # call 2: white crop
    assert values[0.0] > 240 and 100 < values[0.5] < 160  # white alone vs half black, half white


def test_temporal_and_selection_options_are_checked():
    with pytest.raises(ValueError):
        SwapOptions(temporal=1.0)
    with pytest.raises(ValueError):
        BlendOptions(color="sepia")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A 2-step faceswap run on extracted astronaut crops (A) and LFW faces (B): an untrained but real model."""
    tmp = tmp_path_factory.mktemp("faceswap")
    root = tmp / "swap"
    assert main(["faces", "extract", str(make_face_video(tmp / "a.mp4", frames=3, audio=False)),
                 str(root / "trainA"), "--crop-size", "32", "--no-progress"]) == 0
    for i, face in enumerate(skimage.data.lfw_subset()[:3]):
        grey = (np.kron(face, np.ones((2, 2)))[:32, :32] * 255).astype(np.uint8)
        grey = np.pad(grey, ((0, 32 - grey.shape[0]), (0, 32 - grey.shape[1])), mode="edge")
        write_image(root / "trainB" / f"b{i}.png", np.repeat(grey[..., None], 3, axis=2))
    args = ["train", "faceswap", "--data", str(root), "--name", "a2b", "--checkpoints-dir", str(tmp / "ck"),
            "--size", "32", "--steps", "2", "--set", "num_workers=0", "--set", "precision=fp32",
            "--set", "tensorboard=false", "--set", "load_size=32"]
    for pair in TINY:
        args += ["--set", pair]
    assert main(args) == 0
    return tmp / "ck" / "a2b"


def test_faceswap_on_a_clip_keeps_frames_and_audio(tmp_path, checkpoint, capsys):
    clip = make_face_video(tmp_path / "in" / "clip.mp4", frames=8)
    out = tmp_path / "out.mp4"
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(clip), "--output", str(out),
                 "--device", "cpu", "--precision", "fp32", "--batch-size", "3", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "face swapped in 8" in err
    frames_in, _, _, audio_in, _ = read_back(clip)
    frames_out, _, _, audio_out, codec = read_back(out)
    assert len(frames_out) == len(frames_in) == 8
    assert audio_out is not None and abs(audio_out - audio_in) < 0.1 and codec == "aac"
    first_in, first_out = frames_in[0].astype(int), frames_out[0].astype(int)
    face = MediaPipeFaceDetector()(frames_in[0])[0]
    diff = np.abs(first_out - first_in).mean(axis=2)
    assert diff[_far_from_face(diff.shape, face.box, 0.5)].mean() < 2  # only re-encoding noise
    nx, ny = face.landmarks[2].astype(int)
    assert diff[ny - 3:ny + 4, nx - 3:nx + 4].mean() > 5  # the face itself was repainted

    # A re-run skips the finished output.
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(clip), "--output", str(out),
                 "--device", "cpu", "--no-progress"]) == 0
    assert "skipped 1 existing" in capsys.readouterr().err


def test_faceswap_folder_side_by_side_and_no_face_reported(tmp_path, checkpoint, capsys):
    folder = tmp_path / "in"
    write_image(folder / "astronaut.png", skimage.data.astronaut())
    write_image(folder / "coffee.png", skimage.data.coffee())
    make_face_video(folder / "clips" / "c.mp4", frames=3, audio=False)
    out = tmp_path / "out"
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(folder), "--output", str(out),
                 "--side-by-side", "--blend", "poisson", "--size", "256", "--device", "cpu", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "coffee.png: no face found in the image; nothing written" in err
    assert not (out / "coffee.png").exists()
    pair = read_image(out / "astronaut.png")
    assert pair.shape == (256, 512, 3)  # --size 256: input | output
    assert np.abs(pair[:, 256:].astype(int) - pair[:, :256]).max() > 50  # the face changed
    frames, *_ = read_back(out / "clips" / "c.mp4")
    assert len(frames) == 3 and frames[0].shape[:2] == (214, 2 * 256)  # 192x160 -> 256x214, side by side


def test_a_video_without_faces_is_a_clear_failure_and_writes_nothing(tmp_path, checkpoint, capsys):
    from video_clips import make_video

    clip = make_video(tmp_path / "pattern.mp4", frames=4)
    out = tmp_path / "out.mp4"
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(clip), "--output", str(out),
                 "--device", "cpu", "--no-progress"]) == 1
    assert "no face found in any of its 4 frames; nothing written" in capsys.readouterr().err
    assert not out.exists()


def test_faceswap_swaps_the_chosen_of_two_faces_and_previews_them(tmp_path, checkpoint, capsys):
    from face_clips import two_faces_frame

    clip = make_face_video(tmp_path / "two.mp4", frames=4, audio=False, width=320, draw=two_faces_frame)
    out, preview = tmp_path / "out.mp4", tmp_path / "faces.png"
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(clip), "--output", str(out),
                 "--face", "2", "--preview", str(preview), "--mask", "head", "--device", "cpu", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "faces: 2 (IDs 1, 2); swapped: ID 2, seen in 4 of 4 frames" in err and "face swapped in 4" in err
    assert read_image(preview).shape == (160, 320, 3)
    frames_in, *_ = read_back(clip)
    frames_out, *_ = read_back(out)
    left, right = sorted(MediaPipeFaceDetector()(frames_in[0]), key=lambda f: f.centre[0])
    x, y, w, h = left.box.astype(int)
    diff = np.abs(frames_out[0].astype(int) - frames_in[0]).mean(axis=2)
    kept = diff[y:y + h, x:x + w].mean()
    nx, ny = right.landmarks[2].astype(int)
    assert kept < 4  # face 1 untouched: re-encoding noise only (the swapper's own output is exact: tests/people)
    assert diff[ny - 3:ny + 4, nx - 3:nx + 4].mean() > kept + 5  # face 2 repainted

    # An ID nobody had: one line listing the IDs seen, nothing written.
    other = tmp_path / "other.mp4"
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(clip), "--output", str(other),
                 "--face", "7", "--device", "cpu", "--no-progress"]) == 1
    assert "two.mp4: --face 7: no face had that ID (IDs seen: 1, 2); nothing written" in capsys.readouterr().err
    assert not other.exists()
    assert main(["faceswap", "--checkpoint", str(checkpoint), "--input", str(clip), "--output", str(other),
                 "--face", "biggest"]) == 2
