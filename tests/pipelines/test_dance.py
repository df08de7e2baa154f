"""`translate dance` end to end on a short generated clip: frame count, rate, audio, side by side, errors."""
import json

import av
import numpy as np
import pytest

from pose_clips import TINY, dancer  # noqa: F401  (fixture)
from pose_clips import astronaut_frames, write_clip
from translate.cli import main


@pytest.fixture
def checkpoint(dancer, tmp_path):  # noqa: F811
    assert main(["train", "pose2frame", "--data", str(dancer), "--name", "d", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "1", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false", "flip=false"]), [])]) == 0
    return tmp_path / "ck" / "d"


def _video_facts(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        return frames, v.average_rate, v.width, v.height, len(c.streams.audio)


def test_dance_keeps_frames_rate_and_audio_and_shows_source_figure_result(checkpoint, tmp_path):
    source = write_clip(tmp_path / "source.mp4", astronaut_frames(8, size=48), fps=8)
    out = tmp_path / "out.mp4"
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output", str(out),
                 "--no-normalise", "--device", "cpu", "--precision", "fp32"]) == 0
    frames, rate, w, h, audio = _video_facts(out)
    assert (frames, rate, audio) == (8, 8, 1) and (w, h) == (48, 48)
    wide = tmp_path / "wide.mp4"
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output", str(wide),
                 "--no-normalise", "--side-by-side", "--size", "32"]) == 0
    frames, _, w, h, _ = _video_facts(wide)
    assert (frames, w, h) == (8, 96, 32)
    with av.open(str(wide)) as c:  # the middle third is the stick figure: mostly black, some colour
        figure = next(c.decode(video=0)).to_ndarray(format="rgb24")[:, 32:64]
    assert (figure.max(-1) < 40).mean() > 0.5 and figure.max() > 150


def test_dance_needs_statistics_to_normalise_an_upper_body_source(checkpoint, tmp_path, capsys):
    source = write_clip(tmp_path / "source.mp4", astronaut_frames(4, size=48), fps=8)
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"frame_size": [64, 64], "ankle_close": 60, "ankle_far": 50, "height_close": 40,
                                 "height_far": 30, "frames": 10}))
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output",
                 str(tmp_path / "o.mp4"), "--target-stats", str(stats)]) != 0
    assert "--no-normalise" in capsys.readouterr().err.strip().splitlines()[-1]
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output",
                 str(tmp_path / "o2.mp4")]) != 0  # the synthetic dataset saved no statistics
    assert "--target-stats" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "o2.mp4").exists()


def test_dance_on_a_video_with_nobody_is_one_clear_line(checkpoint, tmp_path, capsys):
    source = write_clip(tmp_path / "empty.mp4", [np.zeros((48, 48, 3), np.uint8)] * 3)
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output",
                 str(tmp_path / "o.mp4"), "--no-normalise"]) != 0
    assert "no person found" in capsys.readouterr().err.strip().splitlines()[-1]


def test_dance_refuses_a_checkpoint_that_is_not_pose2frame(tmp_path, paired_data, capsys):
    assert main(["train", "pix2pix", "--data", str(paired_data), "--name", "p", "--checkpoints-dir",
                 str(tmp_path / "ck"), "--size", "32", "--steps", "1", "--num-workers", "0", "--set", "ngf=4",
                 "--set", "ndf=4", "--set", "generator=unet", "--set", "generator_options={num_downs: 5}",
                 "--set", "tensorboard=false"]) == 0
    source = write_clip(tmp_path / "s.mp4", astronaut_frames(2, size=32))
    assert main(["dance", "--checkpoint", str(tmp_path / "ck" / "p"), "--source", str(source), "--output",
                 str(tmp_path / "o.mp4")]) != 0
    assert "not a pose2frame checkpoint" in capsys.readouterr().err


class _TallLowSource:
    """A stand-in estimator: the source person, twice the target's size, stands lower (y 90, 40 px tall)."""

    skeleton = "coco18"
    finds_everyone = False  # a one-person backend: estimate, not estimate_all

    def __init__(self, options=None):
        self.t = 0

    def estimate(self, image):
        from pose_clips import stick

        pose = stick(48, 90, 40)
        for side, dx in (("left", 3), ("right", -3)):  # legs, so the figure reaches the ankles
            pose.points[pose_index(f"{side}_hip")] = (48 + dx, 70, 1)
            pose.points[pose_index(f"{side}_knee")] = (48 + dx, 80, 1)
        return pose

    def close(self):
        pass


def pose_index(name):
    from translate.people.poses.skeletons import skeleton

    return skeleton("coco18").index[name]


def test_normalised_dance_draws_the_source_in_the_targets_framing(checkpoint, tmp_path, monkeypatch):
    from translate.people.poses import estimator

    monkeypatch.setattr(estimator.POSE_ESTIMATORS, "_builders",
                        {**estimator.POSE_ESTIMATORS._builders, "mediapipe": _TallLowSource})
    stats = tmp_path / "target_stats.json"  # target 64x64: ankles at 50 (body 20 px) .. 40 (body 10 px)
    stats.write_text(json.dumps({"frame_size": [64, 64], "ankle_close": 50, "ankle_far": 40, "height_close": 20,
                                 "height_far": 10, "frames": 10}))
    source = write_clip(tmp_path / "source.mp4", [np.zeros((96, 96, 3), np.uint8)] * 4, fps=8)  # 96 px wide: x 48 is its centre
    out = tmp_path / "out.mp4"
    saved = tmp_path / "source_stats.json"
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output", str(out),
                 "--target-stats", str(stats), "--side-by-side", "--source-stats", str(saved)]) == 0
    assert json.loads(saved.read_text())["ankle_close"] == 90 and json.loads(saved.read_text())["height_close"] == 40
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24")[:, 64:128] for f in c.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape[:2] == (64, 64)
    for figure in frames:
        rows = np.nonzero(figure.max(axis=(1, 2)) > 100)[0]
        cols = np.nonzero(figure.max(axis=(0, 2)) > 100)[0]
        # Half the size, ankles on the target's (only) ground line y 50, centred: nose y 30, ankles y 50.
        assert abs(rows.min() - 30) <= 2 and abs(rows.max() - 50) <= 2
        assert abs((cols.min() + cols.max()) / 2 - 32) <= 1.5


def test_bench_pose_reports_every_stage(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "bench_pose.py"
    spec = importlib.util.spec_from_file_location("bench_pose", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--size", "64", "--ngf", "4", "--frames", "3", "--device", "cpu", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["frames"] == 3 and row["fps"] > 0
    assert set(row["ms_per_frame"]) == {"pose", "normalise+render", "generate", "encode"}


class _Blinking:
    """A stand-in estimator: the walker in every frame but the second and third, where nobody is."""

    skeleton = "coco18"
    finds_everyone = False  # a one-person backend: estimate, not estimate_all

    def __init__(self, options=None):
        self.calls = 0

    def estimate(self, image):
        from pose_clips import walker

        self.calls += 1
        return None if self.calls in (2, 3) else walker(0, size=image.shape[1])

    def close(self):
        pass


def test_dance_gives_frames_with_nobody_an_empty_figure_and_reports_them(checkpoint, tmp_path, monkeypatch, capsys):
    from translate.people.poses import estimator

    monkeypatch.setattr(estimator.POSE_ESTIMATORS, "_builders",
                        {**estimator.POSE_ESTIMATORS._builders, "mediapipe": _Blinking})
    source = write_clip(tmp_path / "source.mp4", [np.zeros((32, 32, 3), np.uint8)] * 5, audio=False)
    cases = (([], [True, False, False, True, True], "2 of 5 frames had nobody: 1, 2 (their figures are empty)"),
             (["--hold-last"], [True] * 5, "2 of 5 frames had nobody: 1, 2 (their figures hold the last pose: "
                                           "--hold-last)"))
    for flags, lit, line in cases:
        out = tmp_path / f"out{len(flags)}.mp4"
        assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output", str(out),
                     "--no-normalise", "--side-by-side", *flags]) == 0
        assert line in capsys.readouterr().err
        with av.open(str(out)) as c:  # the middle third, away from its edges: the figure
            figures = [f.to_ndarray(format="rgb24")[:, 34:62] for f in c.decode(video=0)]
        assert [bool(f.max() > 100) for f in figures] == lit


def test_dance_uses_the_visibility_threshold_its_figures_were_made_with_unless_told():
    from types import SimpleNamespace

    from translate.errors import InvalidSettingError
    from translate.pipelines.dance import DanceOptions, figure_style_of, min_visibility_of

    spec = SimpleNamespace(preprocess={"figure": {"skeleton": "coco18", "min_confidence": 0.3, "smooth": 5,
                                                  "min_visibility": 0.6}})
    style, _ = figure_style_of(spec)
    assert min_visibility_of(spec, DanceOptions(), style) == 0.6
    assert min_visibility_of(spec, DanceOptions(min_visibility=0.4), style) == 0.4
    assert min_visibility_of(SimpleNamespace(preprocess={}), DanceOptions(), style) == 0.5  # older checkpoints
    with pytest.raises(InvalidSettingError, match="--min-confidence"):
        min_visibility_of(spec, DanceOptions(min_visibility=0.1), style)


def test_dance_takes_the_source_person_asked_for_and_shows_who_in_a_preview(checkpoint, tmp_path, capsys):
    from pose_clips import two_astronauts

    source = write_clip(tmp_path / "two.mp4", two_astronauts(3), fps=8, audio=False)
    out, preview = tmp_path / "out.mp4", tmp_path / "people.png"
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output", str(out),
                 "--no-normalise", "--side-by-side", "--source-person", "2", "--preview", str(preview)]) == 0
    assert "people: 2 (IDs 1, 2); chosen: ID 2, seen in 3 of 3 frames" in capsys.readouterr().err
    with av.open(str(out)) as c:  # source | figure | result, each 256x128: the figure is the right-hand person's
        figure = next(c.decode(video=0)).to_ndarray(format="rgb24")[:, 256:512]
    assert figure[:, 136:].max() > 150 and figure[:, :120].max() < 60
    assert preview.is_file()
    assert main(["dance", "--checkpoint", str(checkpoint), "--source", str(source), "--output",
                 str(tmp_path / "o.mp4"), "--no-normalise", "--source-person", "middle"]) != 0
    assert "--source-person must be an ID" in capsys.readouterr().err


def _trained_on(dancer, skeleton_name, run, monkeypatch):  # noqa: F811
    """A one-step pose2frame run on ``dancer``'s figures redrawn as ``skeleton_name``; returns the list
    that collects the estimator options dance then asks for."""
    import translate.pipelines.dance as dance_module

    figure = json.loads((dancer / "figure.json").read_text())
    (dancer / "figure.json").write_text(json.dumps({**figure, "skeleton": skeleton_name}))
    assert main(["train", "pose2frame", "--data", str(dancer), "--name", run.name, "--checkpoints-dir",
                 str(run.parent), "--size", "32", "--steps", "1", "--num-workers", "0",
                 *sum((["--set", s] for s in TINY + ["tensorboard=false", "flip=false"]), [])]) == 0
    asked = []
    build = dance_module.build_estimator
    monkeypatch.setattr(dance_module, "build_estimator", lambda name, options: asked.append(options) or
                        build(name, options))
    return asked


def test_a_model_trained_on_figures_with_hands_dances_with_hands(dancer, tmp_path, monkeypatch):  # noqa: F811
    """The figure skeleton the checkpoint was trained with decides: body25_hands figures ask the
    source's estimator for hands too (drawing them is tests/people/test_poses_hands.py's)."""
    from translate.people.poses import hands as hands_module

    asked = _trained_on(dancer, "body25_hands", tmp_path / "ck" / "h", monkeypatch)

    def one_hand_at_her_left_wrist(self, image):  # a stand-in for the hand model: hers are out of the picture
        return [np.array([[46.0, 80.0, 0.9]] + [[46.0 + (k % 5) * 2, 80.0 - 3 * (1 + k // 5), 0.9]
                                                 for k in range(20)], np.float32)]

    monkeypatch.setattr(hands_module.HandLandmarks, "__call__", one_hand_at_her_left_wrist)
    source = write_clip(tmp_path / "s.mp4", astronaut_frames(2, size=128), fps=8)
    out = tmp_path / "o.mp4"
    assert main(["dance", "--checkpoint", str(tmp_path / "ck" / "h"), "--source", str(source), "--output", str(out),
                 "--no-normalise"]) == 0
    assert asked and asked[0].hands  # the hands model ran for the source


def test_a_model_trained_on_figures_with_a_face_dances_with_her_face(dancer, tmp_path, monkeypatch):  # noqa: F811
    """body25_hands_face figures ask the source's estimator for the face too, and the face mesh
    (the real one, on the astronaut's real face) puts white face lines into the figure."""
    import av

    asked = _trained_on(dancer, "body25_hands_face", tmp_path / "ck" / "f", monkeypatch)
    source = write_clip(tmp_path / "s.mp4", astronaut_frames(2, size=256), fps=8)
    out = tmp_path / "o.mp4"
    assert main(["dance", "--checkpoint", str(tmp_path / "ck" / "f"), "--source", str(source), "--output", str(out),
                 "--no-normalise", "--side-by-side"]) == 0
    assert asked and asked[0].face and asked[0].hands
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    width = frame.shape[1] // 3
    figure = frame[:, width:2 * width].astype(int)
    white = (figure.min(axis=2) > 150).sum()  # the face's lines: white, unlike every limb's hue
    assert white > 20
