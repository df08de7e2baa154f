"""The feature encoder's codes: banked in training, clustered per label, chosen and painted at apply."""
import numpy as np
import pytest
import torch

from translate.data.feature_clusters import FeatureBank, FeatureChoice, FeatureClusters, feature_map
from translate.errors import InvalidSettingError


def _objects(codes, h=16, w=16):
    """One item per code: label 1 on the left half (instance 1000), label 0 elsewhere (instance 0)."""
    n = len(codes)
    labels = torch.zeros(n, 1, h, w, dtype=torch.long)
    labels[..., : w // 2] = 1
    instances = labels * 1000
    features = torch.zeros(n, 2, h, w)
    for i, code in enumerate(codes):
        features[i, :, :, : w // 2] = torch.tensor(code)[:, None, None]
    return features, labels, instances


def test_bank_clusters_two_looks_commonest_first():
    bank = FeatureBank(num_classes=3, channels=2, capacity=64)
    codes = [(0.8, 0.1)] * 5 + [(-0.7, 0.3)] * 2  # five red cars, two blue
    bank.add(*_objects([(c[0] + 0.01 * i, c[1]) for i, c in enumerate(codes)]))
    clusters = bank.cluster(n_clusters=2)
    assert clusters.count(1) == 2 and clusters.count(2) == 0  # label 2 never seen: no clusters
    assert clusters.centres[1][0][0] > 0.7 and clusters.centres[1][1][0] < -0.6  # the commoner look first
    assert clusters.count(0) == 1  # the background: one code, so one cluster


def test_bank_keeps_the_latest_capacity_codes():
    bank = FeatureBank(num_classes=2, channels=2, capacity=3)
    bank.add(*_objects([(0.5, 0.5)] * 3))
    bank.add(*_objects([(-0.5, -0.5)] * 3))  # overwrites all three
    assert int(bank.filled[1]) == 6
    assert torch.allclose(bank.vectors[1], torch.tensor([[-0.5, -0.5]] * 3))


def test_small_objects_are_clustered_only_when_a_label_has_nothing_larger():
    bank = FeatureBank(num_classes=2, channels=1, capacity=16)
    labels = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    instances = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    labels[0, :, :8] = 1
    instances[0, :, :8] = 1  # large (half the image): code 0.9
    labels[0, :, 15, 15] = 1
    instances[0, :, 15, 15] = 2  # one pixel: code -0.9, left out of label 1's clusters
    features = torch.zeros(2, 1, 16, 16)
    features[0, :, :8] = 0.9
    features[0, :, 15, 15] = -0.9
    bank.add(features, labels, instances)
    assert np.allclose(bank.cluster(4).centres[1], [[0.9]])


def test_bank_state_round_trip():
    bank = FeatureBank(2, 2, 8)
    bank.add(*_objects([(0.1, 0.2), (0.3, 0.4)]))
    other = FeatureBank(2, 2, 8)
    other.load_state_dict(bank.state_dict())
    assert np.allclose(other.cluster(2).centres[1], bank.cluster(2).centres[1])


def test_record_round_trip():
    clusters = FeatureClusters(2, {3: np.array([[0.5, -0.25], [0.0, 1.0]], np.float32)})
    again = FeatureClusters.from_record(clusters.to_record())
    assert again.channels == 2 and np.allclose(again.centres[3], clusters.centres[3])
    assert "3: 2" in again.describe()


def test_choice_parsing_and_refusals():
    assert FeatureChoice.parse("26=3, 24=1").clusters == {26: 3, 24: 1}
    assert FeatureChoice.parse("random", seed=4).random and FeatureChoice.parse("").clusters == {}
    assert FeatureChoice.of({7: 2}).clusters == {7: 2} and FeatureChoice.of(None) == FeatureChoice()
    with pytest.raises(InvalidSettingError, match=r"'26:3' is not LABEL=CLUSTER"):
        FeatureChoice.parse("26:3")
    clusters = FeatureClusters(1, {1: np.zeros((2, 1), np.float32)})
    with pytest.raises(InvalidSettingError, match=r"label 1 has clusters 0-1"):
        FeatureChoice({1: 2}).check(clusters)
    with pytest.raises(InvalidSettingError, match=r"label 5 has no feature clusters"):
        FeatureChoice({5: 0}).check(clusters)


def test_feature_map_paints_each_object_with_its_labels_choice():
    clusters = FeatureClusters(2, {1: np.array([[0.5, 0.5], [-0.5, 0.25]], np.float32)})
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[:, :, :4] = 1
    instances = labels * 1000
    painted = feature_map(labels, instances, clusters, FeatureChoice({1: 1}))
    assert painted.shape == (1, 2, 8, 8)
    assert torch.allclose(painted[0, :, :, :4], torch.tensor([-0.5, 0.25])[:, None, None].expand(2, 8, 4))
    assert painted[0, :, :, 4:].abs().max() == 0  # label 0 has no clusters: zeros
    assert torch.allclose(feature_map(labels, instances, clusters)[0, 0, 0, 0], torch.tensor(0.5))  # default 0


def test_random_choice_is_per_object_and_seeded():
    clusters = FeatureClusters(1, {1: np.linspace(-1, 1, 10, dtype=np.float32)[:, None]})
    labels = torch.ones(1, 8, 8, dtype=torch.long)
    instances = torch.arange(64).reshape(1, 8, 8)  # 64 objects of label 1
    first = feature_map(labels, instances, clusters, FeatureChoice(random=True, seed=3))
    again = feature_map(labels, instances, clusters, FeatureChoice(random=True, seed=3))
    assert torch.equal(first, again) and len(first.unique()) > 3
