"""CUT / FastCUT: PatchNCE as the paper writes it, the modes, the projection heads, the refusals,
and the places every translator must work (the CLI, apply, bf16, torchrun)."""
import math

import pytest
import torch

from translate.checkpoint import load_generator
from translate.cli import main
from translate.config import ConfigError, resolve
from translate.losses.patchnce import patch_nce_loss
from translate.nets.projection import PatchProjection, gather_patches, sample_locations
from translate.registry import TRANSLATORS
from translate.training.loop import train
from translate.translators.cut import CUT, paper_layers, resolve_layers

from conftest import torchrun_two_processes

torch.set_num_threads(1)

TINY = {"ngf": 4, "ndf": 4, "n_layers_d": 2, "generator": "resnet", "generator_options": {"n_blocks": 1},
        "num_patches": 16, "projection_channels": 8}
TINY_ARGS = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]


def _run(data, tmp_path, name="r", **extra):
    pairs = [f"{key}={value}" for key, value in {**TINY, **extra}.items()]
    return resolve("cut", CUT.Options(), cli_values={
        "data": str(data), "name": name, "checkpoints_dir": str(tmp_path), "size": 32, "num_workers": 0,
        "precision": "fp32", "tensorboard": False, "steps": 2}, set_pairs=pairs)


def _prepared(run):
    from translate.data.samples import SampleSet

    return CUT.prepare(run.model, run.train, SampleSet(lambda: None, 0))


# --------------------------------------------------------------------------- PatchNCE


def _reference_formulation(q, k, tau):
    """The reference's arrangement: the positive first, then every key of the image with the
    diagonal (the positive again) masked to -10, cross-entropy against index 0."""
    b, n, _ = q.shape
    positive = (q * k).sum(-1, keepdim=True)  # B x N x 1
    negatives = q @ k.transpose(1, 2)
    negatives = negatives.masked_fill(torch.eye(n, dtype=torch.bool), -10.0)
    logits = torch.cat([positive, negatives], dim=2).reshape(b * n, n + 1) / tau
    return torch.nn.functional.cross_entropy(logits, torch.zeros(b * n, dtype=torch.long))


def test_patchnce_equals_the_reference_arrangement():
    g = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(2, 16, 8, generator=g), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(2, 16, 8, generator=g), dim=-1)
    torch.testing.assert_close(patch_nce_loss(q, k, 0.07), _reference_formulation(q, k, 0.07), rtol=1e-5, atol=1e-5)


def test_patchnce_prefers_the_patch_at_the_same_place():
    g = torch.Generator().manual_seed(1)
    k = torch.nn.functional.normalize(torch.randn(1, 32, 16, generator=g), dim=-1)
    shuffled = k[:, torch.randperm(32, generator=g)]
    assert patch_nce_loss(k, k) < 0.01 < 1.0 < patch_nce_loss(shuffled, k)


def test_patchnce_keeps_bf16_inputs_in_float32_and_keys_out_of_the_graph():
    q = torch.randn(1, 4, 3, dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(1, 4, 3, dtype=torch.bfloat16, requires_grad=True)
    loss = patch_nce_loss(q, k)
    assert loss.dtype == torch.float32
    loss.backward()
    assert q.grad is not None and k.grad is None


# --------------------------------------------------------------------------- patch sampling


def test_locations_are_distinct_and_shared_by_query_and_key():
    features = [torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4)]
    where = sample_locations(features, 10, torch.Generator().manual_seed(0))
    assert [len(w) for w in where] == [10, 10] and len(set(where[0].tolist())) == 10
    assert len(sample_locations([torch.randn(1, 3, 2, 2)], 10, torch.Generator())[0]) == 4  # all there is
    picked = gather_patches(features[0], where[0])
    assert picked.shape == (2, 10, 3)
    row, col = divmod(int(where[0][3]), 8)
    torch.testing.assert_close(picked[1, 3], features[0][1, :, row, col])


def test_projection_heads_give_unit_vectors_per_layer():
    heads = PatchProjection([3, 5], channels=6)
    features = [torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4)]
    out = heads(features, sample_locations(features, 7, torch.Generator().manual_seed(0)))
    assert [o.shape for o in out] == [(2, 7, 6), (2, 7, 6)]
    torch.testing.assert_close(out[1].norm(dim=-1), torch.ones(2, 7))


# --------------------------------------------------------------------------- modes and layers


@pytest.mark.parametrize("mode,expected", [("cut", (1.0, True, False)), ("fastcut", (10.0, False, True))])
def test_mode_sets_the_papers_nce_settings_unless_a_key_says_otherwise(unpaired_data, tmp_path, mode, expected):
    opts = _prepared(_run(unpaired_data, tmp_path, mode=mode))
    assert (opts.lambda_nce, opts.nce_idt, opts.flip_equivariance) == expected
    assert _prepared(_run(unpaired_data, tmp_path, mode=mode, lambda_nce=3)).lambda_nce == 3.0


def test_paper_layers_and_indices_resolve_to_names():
    declared = ("input", "stem", "down0", "down1", *(f"block{i}" for i in range(9)))
    assert paper_layers(declared) == ["input", "down0", "down1", "block0", "block4"]
    assert resolve_layers(["0", "2", "block3"], declared, "resnet_9blocks") == ["input", "down0", "block3"]
    assert paper_layers(("input", *(f"down{i}" for i in range(8)))) == ["input", "down1", "down3", "down5", "down7"]


def test_the_default_generator_is_the_papers_antialiased_resnet9(unpaired_data, tmp_path):
    opts = _prepared(_run(unpaired_data, tmp_path, ngf=4, generator="resnet_9blocks", generator_options="{}"))
    assert opts.antialias is True
    assert opts.generator_options == {"downsample": "antialias", "upsample": "antialias"}
    assert opts.nce_layers == ["input", "down0", "down1", "block0", "block4"]
    assert opts.init == "xavier" and opts.gan_mode == "lsgan"
    # The measured default: start at the colour transfer and keep the map there; --preset paper
    # is the paper's plain generator.
    assert opts.residual is True and opts.learn_colour_map is False
    assert _prepared(_run(unpaired_data, tmp_path, preset="paper")).residual is False


def test_without_nce_there_are_no_projection_heads(unpaired_data, tmp_path):
    run = _run(unpaired_data, tmp_path, lambda_nce=0)
    cut = CUT(_prepared(run), run.train)
    assert list(cut.generators) == ["G"]  # DDP refuses parameters that never get a gradient


@pytest.mark.parametrize("settings,message", [
    (["nce_layers=[0, 40]"], "index 40 is out of range; resnet has 5 feature layers"),
    (["nce_layers=[blokc0]"], "no feature layer 'blokc0'"),
    (["num_patches=256"], "'num_patches' is 256 but layer 'down1' is 8x8 (64 locations) at --size 32"),
    (["generator=pix2pixhd_local", "generator_options={}"], "pix2pixhd_local exposes no encoder features"),
    (["lambda_ssim=1"], "'lambda_ssim' is not applied by cut"),
])
def test_bad_settings_are_one_line_errors(unpaired_data, tmp_path, capsys, settings, message):
    runs = tmp_path / "runs"
    code = main(["train", "cut", "--data", str(unpaired_data), "--checkpoints-dir", str(runs), "--size", "32",
                 "--steps", "1", "--num-workers", "0", *TINY_ARGS, *(a for s in settings for a in ("--set", s))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and message in err[0], err
    assert not runs.exists()  # refused before a run folder was made


def test_antialias_true_on_a_unet_is_refused(unpaired_data, tmp_path):
    with pytest.raises(ConfigError, match="'antialias' needs a ResNet"):
        _prepared(_run(unpaired_data, tmp_path, generator="unet", generator_options="{num_downs: 3}", antialias=True))


# --------------------------------------------------------------------------- training


def test_fastcut_step_flips_and_logs_nce_without_identity(unpaired_data, tmp_path):
    run = _run(unpaired_data, tmp_path, mode="fastcut")
    cut = CUT(_prepared(run), run.train)
    batch = {"A": torch.rand(1, 3, 32, 32) * 2 - 1, "B": torch.rand(1, 3, 32, 32) * 2 - 1}
    flips = []
    for _ in range(12):
        before = cut.rng.get_state()
        out = cut.generator_loss(batch)
        cut.rng.set_state(before)
        flips.append(bool(torch.rand((), generator=cut.rng) < 0.5))
        cut.generator_loss(batch)
    assert set(out.logs) == {"G_gan", "NCE"} and "identity" not in out.fakes
    assert any(flips) and not all(flips)
    out.loss.backward()
    assert all(p.grad is not None for p in cut.generators["F"].parameters())


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_keys_come_from_the_translating_pass_and_give_the_same_loss(unpaired_data, tmp_path, monkeypatch, mode):
    """Unflipped, PatchNCE's keys are the features of the pass that translated the sources: one
    encoder pass per translating pass (the queries') instead of two, and the same loss as encoding the sources again.
    A flipped FastCUT pass saw the mirrored sources, so its keys get their own pass."""
    run = _run(unpaired_data, tmp_path, mode=mode)
    cut = CUT(_prepared(run), run.train)
    batch = {"A": torch.rand(1, 3, 32, 32) * 2 - 1, "B": torch.rand(1, 3, 32, 32) * 2 - 1}
    g_class = type(cut.generators["G"])
    encode, with_features = g_class.encode, g_class.forward_with_features
    calls = []
    monkeypatch.setattr(g_class, "encode", lambda self, x, layers: calls.append(1) or encode(self, x, layers))
    seen_flips = set()
    for _ in range(8):
        state = cut.rng.get_state()
        flipped = cut.opts.flip_equivariance and bool(torch.rand((), generator=torch.Generator().set_state(state)) < 0.5)
        seen_flips.add(flipped)
        calls.clear()
        monkeypatch.setattr(g_class, "forward_with_features", with_features)
        one_pass = cut.generator_loss(batch)
        passes = 2 if mode == "cut" else 1  # CUT's identity term translates in a pass of its own
        assert len(calls) == passes * (2 if flipped else 1)
        # The same step with the keys encoded separately: the same numbers.
        cut.rng.set_state(state)
        monkeypatch.setattr(g_class, "forward_with_features", lambda self, x, layers: (self(x), None))
        two_passes = cut.generator_loss(batch)
        assert torch.equal(one_pass.logs["NCE"], two_passes.logs["NCE"])
        assert torch.equal(one_pass.loss, two_passes.loss)
    assert seen_flips == ({False, True} if mode == "fastcut" else {False})


class _LiveSavedBytes:
    """Bytes of the tensors autograd holds for backward, now and at most, while active."""

    def __init__(self):
        self.now = self.peak = 0

    def pack(self, tensor):
        size = tensor.numel() * tensor.element_size()
        self.now += size
        self.peak = max(self.peak, self.now)
        return _Held(tensor, size, self)

    def __enter__(self):
        self.hooks = torch.autograd.graph.saved_tensors_hooks(self.pack, lambda held: held.tensor)
        self.hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self.hooks.__exit__(*exc)


class _Held:
    def __init__(self, tensor, size, owner):
        self.tensor, self.size, self.owner = tensor, size, owner

    def __del__(self):
        self.owner.now -= self.size


def _step_of(cut, batch):
    """One generator loss and its backward: the loss and logs, the gradients, the peak of saved bytes."""
    cut.generators.zero_grad(set_to_none=True)
    with _LiveSavedBytes() as saved:
        out = cut.generator_loss(batch)
        out.loss.backward()
    grads = {name: w.grad.clone() for name, w in cut.generators.named_parameters() if w.grad is not None}
    return out, grads, saved.peak


@pytest.mark.parametrize("flip", [False, True])
def test_the_identity_term_in_its_own_pass_gives_the_same_step_with_half_the_saved_activations(
        unpaired_data, tmp_path, flip):
    """nce_idt_pass=separate differentiates NCE(G(b), b) before the sources' pass and carries its
    gradient into the one backward: the same loss, logs and gradients as the shared pass of the
    reference, while autograd never holds both passes' activations."""
    steps = {}
    for mode in ("shared", "separate"):
        torch.manual_seed(0)
        run = _run(unpaired_data, tmp_path, name=mode, nce_idt_pass=mode, flip_equivariance=flip)
        cut = CUT(_prepared(run), run.train)
        batch = {"A": torch.rand(2, 3, 32, 32) * 2 - 1, "B": torch.rand(2, 3, 32, 32) * 2 - 1}
        flips = []
        for _ in range(6 if flip else 2):  # with flips on, steps of each kind (the same draws in both)
            flips.append(bool(torch.rand((), generator=torch.Generator().set_state(cut.rng.get_state())) < 0.5))
            steps.setdefault(mode, []).append(_step_of(cut, batch))
    if flip:
        assert len(set(flips)) == 2, flips
    for (shared, shared_grads, shared_peak), (apart, apart_grads, apart_peak) in zip(steps["shared"], steps["separate"]):
        assert set(apart.logs) == set(shared.logs) == {"G_gan", "NCE", "NCE_idt"}
        for key in shared.logs:
            torch.testing.assert_close(apart.logs[key], shared.logs[key], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(apart.loss, shared.loss, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(apart.fakes["identity"], shared.fakes["identity"], rtol=1e-5, atol=1e-6)
        assert apart_grads.keys() == shared_grads.keys() and any(k.startswith("F.") for k in apart_grads)
        # The same sums in another order: equal to rounding, for each weight with a gradient worth
        # the name (a conv bias before instance norm has none: both are rounding noise) and overall.
        for key in shared_grads:
            gap, size = (apart_grads[key] - shared_grads[key]).norm(), shared_grads[key].norm()
            assert size < 1e-3 or gap <= 1e-5 * size, (key, gap, size)
        whole = [torch.cat([g[key].flatten() for key in sorted(shared_grads)]) for g in (apart_grads, shared_grads)]
        assert (whole[0] - whole[1]).norm() <= 1e-6 * whole[1].norm()
        assert apart_peak < 0.7 * shared_peak, (apart_peak, shared_peak)


def test_nce_idt_pass_auto_shares_the_pass_under_batch_norm_and_separate_is_refused_there(unpaired_data, tmp_path):
    run = _run(unpaired_data, tmp_path, norm="batch")
    cut = CUT(_prepared(run), run.train)
    assert not cut._identity_apart(torch.zeros(1, 3, 32, 32))
    assert CUT(_prepared(_run(unpaired_data, tmp_path)), run.train)._identity_apart(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ConfigError, match="'nce_idt_pass': separate passes change batch norm"):
        _run(unpaired_data, tmp_path, norm="batch", nce_idt_pass="separate")


def test_cut_learns_to_keep_patches_apart(unpaired_data, tmp_path):
    """NCE alone (no GAN) from a random start: the output's patches become recognisable, from
    above chance (log 16: every patch alike) to below it."""
    torch.manual_seed(0)
    run = _run(unpaired_data, tmp_path, lambda_gan=0, nce_idt=False, residual=False)  # the paper's plain generator
    cut = CUT(_prepared(run), run.train)
    opt = torch.optim.Adam(cut.generators.parameters(), lr=2e-3)
    batch = {"A": torch.rand(1, 3, 32, 32) * 2 - 1, "B": torch.rand(1, 3, 32, 32) * 2 - 1}
    losses = []
    for _ in range(60):
        out = cut.generator_loss(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.logs["NCE"].item())
    chance = math.log(16)
    assert losses[0] > chance and sum(losses[-10:]) / 10 < 0.95 * chance, losses


def test_bf16_on_cpu_trains_and_applies(unpaired_data, tmp_path):
    run = _run(unpaired_data, tmp_path, mode="fastcut")
    run.train.precision = "bf16"
    folder = train(run)
    net, spec = load_generator(folder, "AtoB")
    assert spec.translator == "cut"
    with torch.no_grad():
        out = net.eval()(torch.rand(1, 3, 32, 32) * 2 - 1)
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


def test_cli_trains_and_applies_a_cut_run(unpaired_data, tmp_path):
    assert main(["train", "cut", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path), "--size", "32",
                 "--steps", "2", "--num-workers", "0", "--name", "run", *TINY_ARGS]) == 0
    out = tmp_path / "zebras"
    assert main(["apply", "--checkpoint", str(tmp_path / "run"), "--input", str(unpaired_data / "trainA"),
                 "--output", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 6


def test_two_gloo_processes_equal_one_process_with_twice_the_batch(unpaired_data, tmp_path):
    """The projection heads are built before DDP wraps the networks: every rank has them, their
    gradients are averaged, and the result is the single process's with the whole batch."""
    common = ["cut", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path), "--size", "32",
              "--steps", "3", "--num-workers", "0", "--precision", "fp32", "--device", "cpu",
              "--set", "tensorboard=false", *TINY_ARGS]
    assert main(["train", *common, "--name", "single", "--batch-size", "2"]) == 0
    done = torchrun_two_processes(["train", *common, "--name", "ddp", "--batch-size", "1"], 29523)
    assert done.returncode == 0, done.stderr[-2000:]
    from translate.checkpoint import load_training_state

    single, ddp = (load_training_state(tmp_path / name)["generators"] for name in ("single", "ddp"))
    heads = [key for key in single if key.startswith("F.") and key.endswith("weight")]
    assert heads
    for key in heads:
        torch.testing.assert_close(single[key], ddp[key], rtol=1e-4, atol=1e-5, msg=key)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    net_a, _ = load_generator(tmp_path / "single", "AtoB")
    net_b, _ = load_generator(tmp_path / "ddp", "AtoB")
    with torch.no_grad():
        torch.testing.assert_close(net_a.eval()(x), net_b.eval()(x), rtol=1e-4, atol=1e-5)


def test_registered_with_the_cli_names():
    assert "cut" in TRANSLATORS.names()


@pytest.fixture
def cut_run(unpaired_data, tmp_path):
    """A two-step CUT run with the paper's anti-aliased ResNet (tiny)."""
    assert main(["train", "cut", "--data", str(unpaired_data), "--checkpoints-dir", str(tmp_path / "runs"),
                 "--size", "32", "--steps", "2", "--num-workers", "0", "--name", "cut", *TINY_ARGS]) == 0
    return tmp_path / "runs" / "cut"


@pytest.mark.parametrize("fmt,suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_a_cut_run_exports_verified(cut_run, tmp_path, capsys, fmt, suffix):
    assert main(["export", "--checkpoint", str(cut_run), "--format", fmt, "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / f"generator_AtoB{suffix}").exists()
    assert "max |exported - PyTorch|" in capsys.readouterr().err


def test_a_cut_run_translates_a_video_and_keeps_its_frames(cut_run, tmp_path):
    from video_clips import make_video, read_back

    clip = make_video(tmp_path / "in.mp4", frames=6, width=48, height=32)
    assert main(["apply", "--checkpoint", str(cut_run), "--input", str(clip), "--output", str(tmp_path / "out.mp4")]) == 0
    frames, _, _, audio_seconds, _ = read_back(tmp_path / "out.mp4")
    assert len(frames) == 6 and frames[0].shape == (32, 48, 3)
    assert audio_seconds is not None  # the clip's sound kept


def test_serve_offers_a_cut_run_and_translates_with_it(cut_run, tmp_path):
    """The browser page's handlers (translate serve): the run is listed one-way and translates."""
    import numpy as np

    from translate.data import write_image
    from translate.serve.handlers import Handlers
    from translate.serve.models import ModelCache, discover
    from translate.serve.safety import OutputFolder, UploadLimits

    models, problems = discover([cut_run.parent])
    assert not problems and [(m.name, m.directions) for m in models] == [("cut", ["AtoB"])]
    assert models[0].describe()["translator"] == "cut"
    handlers = Handlers(ModelCache(models, "cpu"), OutputFolder(tmp_path / "out"), UploadLimits(), [cut_run.parent])
    photo = write_image(tmp_path / "photo.png", (np.random.default_rng(0).random((29, 37, 3)) * 255).astype(np.uint8))
    result = handlers.translate_images("cut", [str(photo)], None, "AtoB", "fp32", 0)
    assert result.status.startswith("Done: 1 image(s)"), result.status


def test_translate_eval_scores_a_cut_run_on_a_paired_test_split(cut_run, unpaired_data, tmp_path, capsys):
    import json

    import numpy as np

    from translate.data import write_image

    rng = np.random.default_rng(3)
    for i in range(2):  # test/ of side-by-side A|B pairs, as the benchmark tasks have
        write_image(unpaired_data / "test" / f"{i}.png", (rng.random((32, 64, 3)) * 255).astype(np.uint8))
    report = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(cut_run), "--data", str(unpaired_data), "--split", "test",
                 "--metrics", "psnr,ssim", "--json", str(report)]) == 0
    scores = json.loads(report.read_text())
    assert "psnr" in json.dumps(scores) and "ssim" in json.dumps(scores)
