"""Metrics against known values: scikit-image's PSNR/SSIM, identical sets, shifted distributions;
feature networks read only from local files (random weights here: nothing can be downloaded)."""
import cv2
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from translate.eval import METRICS, PSNR_CAP_DB, FeatureNets, MetricUnavailable, MissingWeightsError, WeightPaths
from translate.eval.features import INCEPTION_FILES, WeightsFileError, build_inception, build_lpips
from translate.eval.suite import to_batch


@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    """An empty torch cache, so the tests see the same files whatever this machine holds."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home"


def _smooth(rng, h, w):
    small = (rng.random((5, 5, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _noisy(rng, image, amount):
    return np.clip(image.astype(int) + rng.integers(-amount, amount + 1, image.shape), 0, 255).astype(np.uint8)


def _score(name, pred, target, features=None):
    metric = METRICS.build(name, features=features or FeatureNets(WeightPaths(random=True)))
    metric.update(to_batch(pred, "cpu"), to_batch(target, "cpu"))
    return metric.compute()["value"]


@pytest.mark.parametrize("shape", [(40, 40), (37, 53), (64, 29), (11, 11)])
def test_psnr_and_ssim_equal_scikit_image(shape):
    rng = np.random.default_rng(sum(shape))
    target = _smooth(rng, *shape)
    pred = _noisy(rng, target, 40)
    expected_ssim = structural_similarity(pred, target, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=255, channel_axis=2)
    assert _score("ssim", pred, target) == pytest.approx(expected_ssim, abs=1e-9)
    # torchmetrics keeps data_range in float32: agreement is ~1e-6 dB, not bit-exact
    assert _score("psnr", pred, target) == pytest.approx(peak_signal_noise_ratio(target, pred, data_range=255), abs=1e-5)


def test_mean_over_images_is_the_mean_of_per_image_values():
    rng = np.random.default_rng(3)
    targets = [_smooth(rng, 32, 32) for _ in range(3)]
    preds = [_noisy(rng, t, a) for t, a in zip(targets, (5, 20, 60))]
    metric = METRICS.build("ssim", features=FeatureNets(WeightPaths(random=True)))
    for p, t in zip(preds, targets):
        metric.update(to_batch(p, "cpu"), to_batch(t, "cpu"))
    expected = np.mean([structural_similarity(p, t, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                              data_range=255, channel_axis=2) for p, t in zip(preds, targets)])
    assert metric.images == 3
    assert metric.compute()["value"] == pytest.approx(expected, abs=1e-9)


def test_identical_images_psnr_capped_ssim_one():
    image = _smooth(np.random.default_rng(0), 24, 30)
    assert _score("psnr", image, image) == PSNR_CAP_DB
    assert _score("ssim", image, image) == pytest.approx(1.0, abs=1e-12)


def test_grey_images_are_scored_as_rgb():
    rng = np.random.default_rng(5)
    grey = _smooth(rng, 20, 20)[:, :, :1]
    noisy = _noisy(rng, grey, 10)
    assert _score("psnr", noisy, grey) == pytest.approx(peak_signal_noise_ratio(grey[..., 0], noisy[..., 0]), abs=1e-5)


def test_ssim_refuses_images_smaller_than_its_window():
    image = np.zeros((8, 20, 3), np.uint8)
    with pytest.raises(MetricUnavailable, match="at least 11x11"):
        _score("ssim", image, image)


def test_pair_metric_without_pairs_says_what_it_needs():
    metric = METRICS.build("cycle_psnr", features=FeatureNets(WeightPaths(random=True)))
    with pytest.raises(MetricUnavailable, match="both generators"):
        metric.compute()


# --- FID / KID with a randomly initialised FID Inception -------------------------------------


@pytest.fixture(scope="module")
def inception_sets():
    """Inception features of three sets: base, another sample of the same distribution, and
    the same kind of images shifted in colour and brightness."""
    rng = np.random.default_rng(0)
    net = build_inception(WeightPaths(random=True))
    base = [_smooth(rng, 48, 48) for _ in range(8)]
    same = [_smooth(rng, 48, 48) for _ in range(8)]
    shifted = [np.clip(_smooth(rng, 48, 48).astype(int) // 3 + 150, 0, 255).astype(np.uint8) for _ in range(8)]

    def features(images):
        with torch.no_grad():
            return net(torch.cat([to_batch(i, "cpu") for i in images])).float()

    return {"base": features(base), "same": features(same), "shifted": features(shifted)}


def _set_metric(name, real, fake):
    metric = METRICS.build(name, features=FeatureNets(WeightPaths(random=True)))
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return metric.compute()


def test_random_inception_features_are_not_degenerate(inception_sets):
    # With PyTorch's default init the features collapse to ~1e-8 and every FID would be 0.
    assert inception_sets["base"].shape == (8, 2048)
    assert inception_sets["base"].std() > 1e-2


def test_fid_identical_sets_near_zero_and_shift_increases_it(inception_sets):
    s = inception_sets
    identical = _set_metric("fid", s["base"], s["base"])["value"]
    same = _set_metric("fid", s["base"], s["same"])["value"]
    shifted = _set_metric("fid", s["base"], s["shifted"])["value"]
    assert identical == pytest.approx(0.0, abs=1e-3)
    assert shifted > 2 * same > 0


def test_kid_identical_sets_near_zero_and_shift_increases_it(inception_sets):
    s = inception_sets
    identical = _set_metric("kid", s["base"], s["base"])
    shifted = _set_metric("kid", s["base"], s["shifted"])
    same = _set_metric("kid", s["base"], s["same"])
    # KID's MMD estimate is unbiased, so for identical sets it is not exactly 0 on 8 images: it is
    # 2 (mean off-diagonal k - mean diagonal k) / n, which is <= 0 for a positive definite kernel.
    assert identical["value"] <= 1e-9
    assert shifted["value"] > 0 and shifted["value"] > same["value"]
    assert set(shifted) == {"value", "std"}


def test_set_metrics_need_two_images_per_side(inception_sets):
    with pytest.raises(MetricUnavailable, match="at least 2"):
        _set_metric("fid", inception_sets["base"][:1], inception_sets["base"])


# --- feature networks come only from local files ---------------------------------------------


def test_inception_weights_from_a_local_file_under_the_usual_name(tmp_path, no_cache):
    torch.manual_seed(1)
    random_net = build_inception(WeightPaths(random=True))
    torch.save(random_net.state_dict(), tmp_path / INCEPTION_FILES[0])
    loaded = build_inception(WeightPaths(folder=str(tmp_path)))
    x = torch.randint(0, 256, (1, 3, 40, 40), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(loaded(x), random_net(x))


def test_inception_from_the_torch_cache(tmp_path, no_cache):
    cache = no_cache / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    state = build_inception(WeightPaths(random=True)).state_dict()
    torch.save(state, cache / INCEPTION_FILES[1])  # pytorch-fid's name is accepted too
    net = build_inception(WeightPaths())
    assert torch.equal(net.state_dict()["fc.weight"], state["fc.weight"])


def test_missing_and_corrupt_weights_name_the_file(tmp_path, no_cache):
    with pytest.raises(MissingWeightsError, match=INCEPTION_FILES[0]):
        build_inception(WeightPaths(folder=str(tmp_path)))
    with pytest.raises(MissingWeightsError, match="alexnet-owt-7be5be79.pth"):
        build_lpips("alex", WeightPaths(folder=str(tmp_path)))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(WeightsFileError, match="bad.pth"):
        build_inception(WeightPaths(files={"inception": str(bad)}))


def test_lpips_loads_torchvision_alexnet_weights_and_scores(tmp_path, no_cache):
    import torchvision

    alexnet = torchvision.models.alexnet(weights=None)
    torch.save(alexnet.state_dict(), tmp_path / "alexnet-owt-7be5be79.pth")
    features = FeatureNets(WeightPaths(folder=str(tmp_path)))
    lpips = features.get("lpips_alex")
    assert torch.equal(getattr(lpips.net.slice2, "3").weight, alexnet.features[3].weight)  # index kept across slices
    rng = np.random.default_rng(2)
    image = _smooth(rng, 64, 64)
    assert _score("lpips", image, image, features) == pytest.approx(0.0, abs=1e-6)
    assert _score("lpips", _noisy(rng, image, 80), image, features) > _score("lpips", _noisy(rng, image, 5), image, features)


def test_missing_weights_are_remembered_not_searched_again(tmp_path, no_cache):
    features = FeatureNets(WeightPaths(folder=str(tmp_path)))
    with pytest.raises(MissingWeightsError):
        features.get("inception")
    torch.save({}, tmp_path / INCEPTION_FILES[0])  # appearing later does not matter within one run
    with pytest.raises(MissingWeightsError):
        features.get("inception")


def test_a_non_finite_result_is_skipped_so_the_json_stays_valid(monkeypatch):
    from translate.eval.metrics import PSNR
    from translate.eval.suite import MetricSuite

    monkeypatch.setattr(PSNR, "compute", lambda self: {"value": float("nan")})
    skipped, errors = {}, []
    suite = MetricSuite(["psnr", "ssim"], FeatureNets(WeightPaths(random=True)), skipped,
                        lambda name, reason: errors.append(name))
    image = _smooth(np.random.default_rng(0), 16, 16)
    suite.add_pair("x", image, image)
    values = suite.results("AtoB", skipped)
    assert [v.key for v in values] == ["ssim_AtoB"]
    assert "not a finite number" in skipped["psnr_AtoB"] and errors == []
