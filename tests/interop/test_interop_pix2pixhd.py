"""Import of pix2pixHD state dicts (global generator, local enhancer), and the published list.

pix2pixHD's networks are restated here as op lists (see test_interop_reference for the
notation and the interpreter), independently of translate.interop.layouts_pix2pixhd.
"""
import pytest
import torch
import torch.nn.functional as F

from test_interop_reference import _meta_state, make_state, resnet_ops, run, unet_ops
from translate.checkpoint import GeneratorSpec
from translate.interop.loading import load_generator
from translate.interop.layouts import recognise
from translate.interop.published import published, published_models

torch.set_num_threads(1)


def _block(dim):
    half = [("pad", 1), ("conv", dim, dim, 3, 1, 0, True), ("norm", dim)]
    return ("res", half + [("relu",)] + half)


def global_ops(cin, cout, ngf, n_down, n_blocks):
    ops = [("pad", 3), ("conv", cin, ngf, 7, 1, 0, True), ("norm", ngf), ("relu",)]
    for i in range(n_down):
        c = ngf * 2**i
        ops += [("conv", c, 2 * c, 3, 2, 1, True), ("norm", 2 * c), ("relu",)]
    ops += [_block(ngf * 2**n_down) for _ in range(n_blocks)]
    for i in range(n_down):
        c = ngf * 2 ** (n_down - i)
        ops += [("convT", c, c // 2, 3, 2, 1, 1, True), ("norm", c // 2), ("relu",)]
    return ops + [("pad", 3), ("conv", ngf, cout, 7, 1, 0, True), ("tanh",)]


def local_parts(cin, cout, ngf, n_down, n_blocks, n_enh, n_blocks_local):
    """[(prefix, ops)] in pix2pixHD's registration order: model, model1_1, model1_2, ..."""
    parts = [("model", global_ops(cin, cout, ngf * 2**n_enh, n_down, n_blocks)[:-3])]
    for n in range(1, n_enh + 1):
        w = ngf * 2 ** (n_enh - n)
        down = [("pad", 3), ("conv", cin, w, 7, 1, 0, True), ("norm", w), ("relu",),
                ("conv", w, 2 * w, 3, 2, 1, True), ("norm", 2 * w), ("relu",)]
        up = [_block(2 * w) for _ in range(n_blocks_local)]
        up += [("convT", 2 * w, w, 3, 2, 1, 1, True), ("norm", w), ("relu",)]
        if n == n_enh:
            up += [("pad", 3), ("conv", ngf, cout, 7, 1, 0, True), ("tanh",)]
        parts += [(f"model{n}_1", down), (f"model{n}_2", up)]
    return parts


def local_forward(parts, sd, x, n_enh, norm):
    pyramid = [x]
    for _ in range(n_enh):
        pyramid.append(F.avg_pool2d(pyramid[-1], 3, stride=2, padding=1, count_include_pad=False))
    y = run(parts[0][1], sd, pyramid[-1], "model", norm)
    for n in range(1, n_enh + 1):
        (p1, down), (p2, up) = parts[2 * n - 1], parts[2 * n]
        y = run(up, sd, run(down, sd, pyramid[n_enh - n], p1, norm) + y, p2, norm)
    return y


def _legacy_stats(sd, parts):
    """Add the running statistics PyTorch < 0.4 saved for InstanceNorm (garbage values)."""
    out = dict(sd)
    for prefix, ops in parts:
        for i, op in enumerate(ops):
            if op[0] == "norm":
                out[f"{prefix}.{i}.running_mean"] = torch.full((op[1],), 3.0)
                out[f"{prefix}.{i}.running_var"] = torch.full((op[1],), 7.0)
    return out


@pytest.mark.parametrize("cin,cout,ngf,n_down,n_blocks,norm", [
    (5, 3, 8, 3, 2, "instance"),
    (3, 3, 4, 4, 1, "batch"),
])
def test_global_generator_matches(tmp_path, cin, cout, ngf, n_down, n_blocks, norm):
    ops = global_ops(cin, cout, ngf, n_down, n_blocks)
    sd = make_state(ops, "model", norm)
    torch.save(sd, tmp_path / "latest_net_G.pth")
    net, spec = load_generator(tmp_path / "latest_net_G.pth")
    assert spec.architecture == "pix2pixhd_global" and spec.kwargs["n_downsampling"] == n_down
    x = torch.rand(2, cin, 8 * 2**n_down // 2, 6 * 2**n_down // 2) * 2 - 1
    with torch.no_grad():
        assert float((net.eval()(x) - run(ops, sd, x, "model", norm)).abs().max()) < 1e-5


@pytest.mark.parametrize("n_enh,norm,legacy", [(1, "instance", True), (2, "batch", False)])
def test_local_enhancer_matches(tmp_path, n_enh, norm, legacy):
    parts = local_parts(36, 3, 4, 3, 1, n_enh, 1)
    sd = {}
    for prefix, ops in parts:
        make_state(ops, prefix, norm, out=sd)
    torch.save(_legacy_stats(sd, parts) if legacy else sd, tmp_path / "latest_net_G.pth")
    net, spec = load_generator(tmp_path / "latest_net_G.pth")
    assert spec.architecture == "pix2pixhd_local" and spec.kwargs["n_enhancers"] == n_enh
    assert spec.in_channels == 36 and spec.kwargs["ngf"] == 4
    x = torch.rand(1, 36, 64, 96) * 2 - 1
    with torch.no_grad():
        assert float((net.eval()(x) - local_forward(parts, sd, x, n_enh, norm)).abs().max()) < 1e-5


def test_full_size_label2city_layout_lines_up():
    parts = local_parts(36, 3, 32, 4, 9, 1, 3)
    sd = {}
    for prefix, ops in parts:
        sd.update(_meta_state(ops, prefix, "instance"))
    layout = recognise({k: tuple(v.shape) for k, v in sd.items()})
    assert list(layout.keys) == list(sd)
    with torch.device("meta"):
        net = GeneratorSpec(layout.architecture, 36, 3, dict(layout.kwargs)).build()
    assert [tuple(v.shape) for v in net.state_dict().values()] == [tuple(v.shape) for v in sd.values()]
    assert layout.parameters == sum(p.numel() for p in net.parameters())


def test_every_published_model_has_a_recognised_layout():
    statements = {
        "resnet_9blocks": lambda m: [("model", resnet_ops(m.in_channels, m.out_channels, m.kwargs["ngf"], 9,
                                                          m.kwargs["norm"]))],
        "unet_256": lambda m: [("model.model", unet_ops(m.in_channels, m.out_channels, m.kwargs["ngf"], 8,
                                                        m.kwargs["norm"]))],
        "pix2pixhd_local": lambda m: local_parts(m.in_channels, m.out_channels, m.kwargs["ngf"],
                                                 m.kwargs["n_downsampling"], m.kwargs["n_blocks"],
                                                 m.kwargs["n_enhancers"], m.kwargs["n_blocks_local"]),
    }
    for model in published_models():
        sd = {}
        for prefix, ops in statements[model.architecture](model):
            sd.update(_meta_state(ops, prefix, model.kwargs["norm"]))
        layout = recognise({k: tuple(v.shape) for k, v in sd.items()}, model.name)
        assert layout.architecture == model.architecture, model.name
        assert {k: layout.kwargs[k] for k in model.kwargs} == model.kwargs, model.name
    assert published("label2city_1024p").preprocess["num_classes"] == 35
    assert published("edges2shoes").name == "pix2pix_edges2shoes"


def _feature_model(folder, classes=4, codes=3, clusters=None, options=None):
    """A pix2pixHD global G trained with --instance_feat: classes + instance edge + codes in, as
    NVIDIA's train.py saves it, with the cluster file its encode_features.py writes beside it."""
    import numpy as np

    ops = global_ops(classes + 1 + codes, 3, 4, 2, 1)
    sd = make_state(ops, "model", "instance")
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(sd, folder / "latest_net_G.pth")
    if clusters is not False:
        table = clusters if clusters is not None else {
            label: np.zeros((0, codes)) for label in range(classes)}  # every label, most empty, as theirs
        if clusters is None:
            table[2] = np.array([[0.9, -0.2, 0.1], [-0.8, 0.3, 0.0]])
        np.save(folder / "features_clustered_010.npy", table)
    if options:
        (folder / "opt.txt").write_text(options)
    return ops, sd


def test_a_model_trained_with_features_loads_with_its_clusters(tmp_path):
    import numpy as np

    from translate.apply.model import Model

    ops, sd = _feature_model(tmp_path / "run")
    model = Model.from_file(tmp_path / "run" / "latest_net_G.pth", features="2=1")
    pre = model.preprocess
    assert pre["num_classes"] == 4 and pre["instance_maps"] and pre["features"]["channels"] == 3
    assert model.feature_clusters.count(2) == 2 and model.feature_clusters.count(0) == 0
    label = np.zeros((16, 16), np.int32)
    label[4:12, 4:12] = 2
    x = model.to_batch([np.stack([label, label], -1)])
    assert x.shape == (1, 8, 16, 16)
    assert torch.allclose(x[0, 5:, 8, 8], torch.tensor([-0.8, 0.3, 0.0]))  # label 2, cluster 1
    assert x[0, 5:, 0, 0].abs().max() == 0  # label 0 has no clusters: zeros, as pix2pixHD leaves it
    with torch.no_grad():
        assert float((model.generator(x) - run(ops, sd, x, "model", "instance")).abs().max()) < 1e-5


def test_options_say_per_label_codes_and_a_missing_cluster_file_gives_zeros(tmp_path):
    from translate.interop.reference import import_file

    _feature_model(tmp_path / "a", clusters=False, options="label_feat: True\nfeat_num: 3\nlabel_nc: 4\n")
    imported = import_file(tmp_path / "a" / "latest_net_G.pth", "AtoB")
    features = imported.spec.preprocess["features"]
    assert features == {"channels": 3, "per": "label", "clusters": {}}
    assert any("no features_clustered_" in note for note in imported.notes)


def test_a_hostile_cluster_file_is_refused_unread(tmp_path):
    import os

    import numpy as np

    from translate.model_files.pickles import UnsafeFileError

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "ran"),))

    evil = np.empty((), dtype=object)
    evil[()] = {2: Evil()}
    _feature_model(tmp_path / "run", clusters=False)
    np.save(tmp_path / "run" / "features_clustered_010.npy", evil)
    with pytest.raises(UnsafeFileError, match="features_clustered_010.npy: refused: loading it would import and "
                                              "call posix.system"):
        load_generator(tmp_path / "run" / "latest_net_G.pth")
    assert not (tmp_path / "ran").exists()


def test_a_cluster_file_that_does_not_fit_is_refused_in_one_line(tmp_path):
    import numpy as np

    from translate.checkpoint import CheckpointError

    _feature_model(tmp_path / "run", clusters={9: np.zeros((2, 3))})  # label 9 of 4 classes
    with pytest.raises(CheckpointError, match="cluster label '9' is not a class id below num_classes"):
        load_generator(tmp_path / "run" / "latest_net_G.pth")
    _feature_model(tmp_path / "odd", clusters={1: "not centres"})
    with pytest.raises(CheckpointError, match="label 1: centres must be a finite k x n array"):
        load_generator(tmp_path / "odd" / "latest_net_G.pth")
