"""pix2pixHD's feature encoder: the per-instance average, the layer layout of its Encoder."""
import pytest
import torch

from translate.nets.instance_features import InstanceFeatureEncoder, instance_ids, instance_mean

torch.set_num_threads(1)


def _naive_mean(features, instances):
    """pix2pixHD's loop: every (item, instance, channel) averaged on its own."""
    out = features.clone()
    for b in range(features.shape[0]):
        for i in instances[b].unique():
            where = instances[b, 0] == i
            for c in range(features.shape[1]):
                out[b, c][where] = features[b, c][where].mean()
    return out


def test_instance_mean_equals_the_loop_per_item():
    torch.manual_seed(0)
    features = torch.randn(3, 4, 9, 11)
    instances = torch.randint(0, 5, (3, 1, 9, 11)) * 1000 + torch.randint(0, 2, (3, 1, 9, 11))
    instances[2] = 7  # one item that is a single object
    assert torch.allclose(instance_mean(features, instances), _naive_mean(features, instances), atol=1e-6)


def test_the_same_id_in_two_items_is_two_objects():
    features = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    same_ids = torch.zeros(2, 1, 4, 4, dtype=torch.long)
    out = instance_mean(features, same_ids)
    assert out[0].max() == 0 and out[1].min() == 1  # not averaged across the batch to 0.5
    ids, count = instance_ids(same_ids)
    assert count == 2 and ids[0].unique().tolist() != ids[1].unique().tolist()


def test_gradients_reach_every_pixel_of_an_instance():
    features = torch.randn(1, 2, 6, 6, requires_grad=True)
    instances = torch.zeros(1, 1, 6, 6, dtype=torch.long)
    instances[..., :3] = 1
    instance_mean(features, instances)[0, 0, 0, 0].backward()  # a pixel of instance 1
    grad = features.grad[0, 0]
    assert torch.allclose(grad[:, :3], torch.full((6, 3), 1 / 18)) and grad[:, 3:].abs().max() == 0


def test_encoder_output_is_constant_per_instance_and_bounded():
    torch.manual_seed(0)
    encoder = InstanceFeatureEncoder(3, channels=3, width=4, n_down=2)
    instances = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    instances[:, :, 4:10, 4:12] = 1000
    codes = encoder(torch.rand(2, 3, 16, 16) * 2 - 1, instances)
    assert codes.shape == (2, 3, 16, 16) and codes.abs().max() < 1
    for b in range(2):
        for i in (0, 1000):
            values = codes[b, :, instances[b, 0] == i]
            assert torch.allclose(values, values[:, :1].expand_as(values))


def test_encoder_keys_are_pix2pixhds():
    """model.N as in pix2pixHD's Encoder (instance norm has no parameters): stem conv at 1, then a
    conv every 3 layers, the head conv after a second ReflectionPad; a published latest_net_E.pth loads."""
    encoder = InstanceFeatureEncoder(3, channels=3, width=16, n_down=4)
    weights = [k for k in encoder.state_dict() if k.endswith("weight")]
    assert weights == [f"model.{i}.weight" for i in (1, 4, 7, 10, 13, 16, 19, 22, 25, 29)]
    assert encoder.state_dict()["model.1.weight"].shape == (16, 3, 7, 7)
    assert encoder.state_dict()["model.29.weight"].shape == (3, 16, 7, 7)
    batch_norm = InstanceFeatureEncoder(3, width=16, n_down=4, norm="batch")
    assert "model.2.running_mean" in batch_norm.state_dict()


@pytest.mark.parametrize("n_down", [1, 3])
def test_encoder_keeps_the_size(n_down):
    encoder = InstanceFeatureEncoder(3, width=4, n_down=n_down)
    size = 8 * 2**n_down
    assert encoder(torch.zeros(1, 3, size, size), torch.zeros(1, 1, size, size)).shape[-2:] == (size, size)
