"""Issue 21: a model file never makes translate allocate without bound or crash with a traceback.

A corpus of bad model files, each made here from the tiny CycleGAN run folder (tests/conftest.py)
by corrupting its translate.json, config.yaml or safetensors, or written as a hostile .pth. Every
case goes through the three doors a user has, `translate inspect`, `translate apply` and
`translate.load`, and must come out as exit code 1 with exactly one stderr line naming the file
and the problem (a TranslateError from the API).
"""
from __future__ import annotations

import errno
import json
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest
import torch
from safetensors.torch import load_file, save_file

import translate
from translate import checkpoint as ckpt
from translate.checkpoint import CheckpointError, GeneratorSpec, save_run
from translate.cli import main
from translate.errors import TranslateError
from translate.model_files.bounds import PARAMETER_LIMIT
from translate.registry import GENERATORS
from trust_corpus import smooth, write_png

WEIGHTS = "generator_AtoB.safetensors"
DEEP = "[" * 100_000 + "]" * 100_000


# --------------------------------------------------------------------------- corpus makers


def _edit_entry(change: Callable[[dict], None]) -> Callable[[Path], Path]:
    """A maker that edits the AtoB entry of translate.json."""
    def make(folder: Path) -> Path:
        path = folder / ckpt.METADATA_FILE
        meta = json.loads(path.read_text())
        change(meta["generators"]["AtoB"])
        path.write_text(json.dumps(meta))
        return folder
    return make


def _set(section: str, key: str, value) -> Callable[[Path], Path]:
    def change(entry: dict) -> None:
        target = entry if section == "" else entry.setdefault(section, {})
        target[key] = value
    return _edit_entry(change)


def _meta_text(text: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / ckpt.METADATA_FILE).write_text(text)
        return folder
    return make


def _replace_in_meta(old: str, new: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / ckpt.METADATA_FILE
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        return folder
    return make


def _edit_meta(change: Callable[[dict], None]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / ckpt.METADATA_FILE
        meta = json.loads(path.read_text())
        change(meta)
        path.write_text(json.dumps(meta))
        return folder
    return make


def _rewrite_header(change: Callable[[dict], None]) -> Callable[[Path], Path]:
    """Edit the weights' safetensors header (JSON) in place, keeping the data after it."""
    def make(folder: Path) -> Path:
        path = folder / WEIGHTS
        raw = path.read_bytes()
        length = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + length])
        change(header)
        text = json.dumps(header).encode()
        path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + length:])
        return folder
    return make


def _weights_bytes(change: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / WEIGHTS
        path.write_bytes(change(path.read_bytes()))
        return folder
    return make


def _huge_tensor(header: dict) -> None:
    entry = header["model.1.weight"] if "model.1.weight" in header else next(v for k, v in header.items()
                                                                           if k != "__metadata__")
    entry["shape"] = [2**20, 2**20]
    entry["data_offsets"] = [entry["data_offsets"][0], entry["data_offsets"][0] + 4 * 2**40]


def _as_int64(header: dict) -> None:
    name = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32" and len(v["shape"]) == 1)
    header[name]["dtype"] = "I32"  # same size, other kind


def _bare_file(change_spec: Callable[[dict], None] | None = None, metadata: Dict[str, str] | None = None
               ) -> Callable[[Path], Path]:
    """A bare .safetensors generator copied out of the run folder, its metadata rewritten."""
    def make(folder: Path) -> Path:
        source = folder / WEIGHTS
        tensors = load_file(str(source))
        spec = json.loads(json.loads(json.dumps(_metadata_of(source)))["spec"])
        if change_spec is not None:
            change_spec(spec)
        meta = metadata if metadata is not None else {"format": ckpt.FORMAT, "spec": json.dumps(spec)}
        path = folder.parent / "bare.safetensors"
        save_file(tensors, str(path), metadata=meta)
        return path
    return make


def _metadata_of(path: Path) -> Dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def _bare_deep_spec(folder: Path) -> Path:
    path = _bare_file()(folder)
    tensors = load_file(str(path))
    save_file(tensors, str(path), metadata={"format": ckpt.FORMAT, "spec": DEEP})
    return path


def _bare_ngf(ngf: int, n_blocks: int = 9) -> Callable[[Path], Path]:
    """A bare file whose spec asks for a huge ResNet; its tensors are the tiny one's (never reached)."""
    return _bare_file(lambda spec: spec["kwargs"].update(ngf=ngf, n_blocks=n_blocks))


# --------------------------------------------------------------------------- published .pth makers


def _reference_state(ngf: int) -> Dict[str, torch.Tensor]:
    """A pytorch-CycleGAN-and-pix2pix ResNet state dict of width ``ngf``, every tensor a stride-0
    view of one element: the file is tiny whatever the shapes it claims."""
    from translate.interop.layouts import reference_resnet

    layout = reference_resnet(ngf=ngf, n_blocks=9)
    return {k: torch.zeros(()).expand(s) if s else torch.tensor(0) for k, s in layout.keys.items()}


def _pth_huge_layout(folder: Path) -> Path:
    path = folder.parent / "huge_net_G.pth"
    torch.save(_reference_state(4096), path)
    return path


def _pth_zip_bomb(folder: Path) -> Path:
    """A zip .pth whose one storage is 200 MB of zeros, deflated to a few hundred KB."""
    plain = folder.parent / "plain.pth"
    torch.save({"w": torch.zeros(4)}, plain)
    path = folder.parent / "bomb_net_G.pth"
    n = 50_000_000
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("data.pkl"):
                data = data.replace(b"K\x04t", _long(n) + b"t", 1).replace(b"K\x00K\x04\x85", b"K\x00" + _long(n) + b"\x85", 1)
            if name.endswith("data/0"):
                out.writestr(name, bytes(4 * n), compress_type=zipfile.ZIP_DEFLATED)
            else:
                out.writestr(name, data)
    return path


def _long(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little")
    return b"\x8a" + bytes([len(raw)]) + raw


def _pth_legacy_claim(folder: Path) -> Path:
    """A legacy-format .pth whose pickle claims a storage of 10**14 floats (400 TB)."""
    import io
    import pickle

    plain = folder.parent / "legacy.pth"
    torch.save({"w": torch.zeros(4)}, plain, _use_new_zipfile_serialization=False)
    raw = plain.read_bytes()
    stream = io.BytesIO(raw)
    for _ in range(3):
        pickle.load(stream)
    start = stream.tell()
    body = raw[start:]
    # The storage's element count is the BININT1 4 right before NONE, TUPLE, BINPUT, BINPERSID.
    at = body.index(b"K\x04Nt")
    body = body[:at] + _long(10**14) + body[at + 2:]
    path = folder.parent / "legacy_net_G.pth"
    path.write_bytes(raw[:start] + body)
    return path


def _pth_truncated(folder: Path) -> Path:
    path = folder.parent / "cut_net_G.pth"
    torch.save(_reference_state(4), path)
    path.write_bytes(path.read_bytes()[:200])
    return path


# --------------------------------------------------------------------------- the corpus

# (case id, maker(run folder) -> path to hand to the tool, name the line must hold, fragment)
CASES: List[Tuple[str, Callable[[Path], Path], str, str]] = [
    # 6: an architecture too large to build, from the metadata alone
    ("ngf-4096", _set("kwargs", "ngf", 4096), "translate.json", "parameters ("),
    ("ngf-4096-9-blocks", _edit_entry(lambda e: e["kwargs"].update(ngf=4096, n_blocks=9)), "translate.json",
     "this architecture has 46,507,982,851 parameters (173.3 GiB in fp32), over the limit of"),
    ("bare-ngf-4096", _bare_ngf(4096), "bare.safetensors", "over the limit of 1,000,000,000"),
    ("pth-layout-ngf-4096", _pth_huge_layout, "huge_net_G.pth", "over the limit of"),
    # kwargs of every wrong kind
    ("ngf-negative", _set("kwargs", "ngf", -1), "translate.json", "'ngf' = -1 is out of bounds"),
    ("ngf-float", _set("kwargs", "ngf", 4.5), "translate.json", "'ngf' expects int, got 4.5"),
    ("ngf-bool", _set("kwargs", "ngf", True), "translate.json", "'ngf' expects int, got True"),
    ("ngf-string", _set("kwargs", "ngf", "4"), "translate.json", "'ngf' expects int, got '4'"),
    ("ngf-huge", _set("kwargs", "ngf", 10**30), "translate.json", "out of bounds"),
    ("ngf-infinite", _replace_in_meta('"ngf": 4', '"ngf": 1e999'), "translate.json",
     "option 'ngf' expects int, got inf"),
    ("n-blocks-huge", _set("kwargs", "n_blocks", 10**6), "translate.json", "'n_blocks' = 1000000 is out of bounds"),
    ("norm-evil", _set("kwargs", "norm", "evil"), "translate.json", "cannot build resnet with the options it gives"),
    ("dropout-string", _set("kwargs", "dropout", "yes"), "translate.json", "'dropout' expects bool"),
    ("kwargs-list", _set("", "kwargs", [1, 2]), "translate.json", "kwargs must be a mapping"),
    ("in-channels-zero", _set("", "in_channels", 0), "translate.json", "in_channels must be at least 1"),
    ("in-channels-string", _set("", "in_channels", "3"), "translate.json", "'in_channels' expects int"),
    ("architecture-unknown", _set("", "architecture", "evil"), "translate.json", "unknown generator 'evil'"),
    ("architecture-number", _set("", "architecture", 5), "translate.json", "architecture must be a name"),
    ("direction-list", _set("", "direction", ["x"]), "translate.json", "direction must be a short name"),
    # kwargs that do not match the weights
    ("ngf-mismatch", _set("kwargs", "ngf", 8), WEIGHTS, "weights do not fit resnet: "),
    ("blocks-mismatch", _set("kwargs", "n_blocks", 2), WEIGHTS, "weights do not fit resnet (missing ["),
    ("out-channels-mismatch", _set("", "out_channels", 1), WEIGHTS, "has shape"),
    # 10: preprocess
    ("label-without-classes", _set("preprocess", "input", "label"), "translate.json",
     "preprocess lacks 'num_classes', which input 'label' needs"),
    ("input-evil", _set("preprocess", "input", "evil"), "translate.json", "unknown input kind 'evil'"),
    ("input-number", _set("preprocess", "input", 3), "translate.json", "preprocess 'input' must be a name"),
    ("channels-2", _set("preprocess", "channels", 2), "translate.json", "preprocess 'channels' must be one of 1, 3"),
    ("channels-abc", _set("preprocess", "channels", "abc"), "translate.json", "'channels' must be a whole number"),
    ("channels-other", _set("preprocess", "channels", 1), "translate.json", "must be the generator's in_channels (3)"),
    ("size-abc", _set("preprocess", "size", "abc"), "translate.json", "preprocess 'size' must be a whole number"),
    ("size-negative", _set("preprocess", "size", -5), "translate.json", "preprocess 'size' must be between"),
    ("size-float", _set("preprocess", "size", 32.5), "translate.json", "preprocess 'size' must be a whole number"),
    ("classes-do-not-fill", _edit_entry(lambda e: e["preprocess"].update(input="label", num_classes=2)),
     "translate.json", "must make the generator's in_channels (3)"),
    ("instance-maps-string", _edit_entry(lambda e: e["preprocess"].update(input="label", num_classes=2,
                                                                          instance_maps="yes")),
     "translate.json", "'instance_maps' must be true or false"),
    ("features-channels-huge", _edit_entry(lambda e: e["preprocess"].update(
        input="label", num_classes=1, features={"channels": 10**6, "clusters": {}})),
     "translate.json", "preprocess 'features': 'channels' must be a whole number 1-64"),
    ("features-label-beyond", _edit_entry(lambda e: e["preprocess"].update(
        input="label", num_classes=1, features={"channels": 2, "clusters": {"7": [[0, 0]]}})),
     "translate.json", "cluster label '7' is not a class id below num_classes (1)"),
    ("features-centre-nan", _edit_entry(lambda e: e["preprocess"].update(
        input="label", num_classes=1, features={"channels": 2, "clusters": {"0": [[0, "x"]]}})),
     "translate.json", "label 0: every centre must be 2 finite numbers"),
    ("features-fill", _edit_entry(lambda e: e["preprocess"].update(
        input="label", num_classes=1, features={"channels": 1, "clusters": {"0": [[0.5]]}})),
     "translate.json", "(+1 with instance_maps, + the feature channels) must make the generator's in_channels (3)"),
    ("preprocess-list", _set("", "preprocess", [1]), "translate.json", "preprocess must be a mapping"),
    ("face-size-missing", _set("preprocess", "input", "pose_face"), "translate.json", "lacks 'face_size'"),
    # the metadata file itself
    ("meta-deep", _meta_text(DEEP), "translate.json", "nested too deep"),
    ("meta-deep-inside", _replace_in_meta('"size": 32', '"size": 32, "figure": ' + "[" * 100 + "]" * 100),
     "translate.json", "nested over 64 levels"),
    ("meta-not-json", _meta_text("{not json"), "translate.json", "not valid JSON"),
    ("meta-nan", _replace_in_meta('"ngf": 4', '"ngf": NaN'), "translate.json", "NaN is not a number JSON allows"),
    ("meta-huge-int", _replace_in_meta('"ngf": 4', '"ngf": ' + "9" * 5000), "translate.json", "not valid JSON"),
    ("meta-list", _meta_text("[]"), "translate.json", "not a translate checkpoint"),
    ("generators-list", _edit_meta(lambda m: m.update(generators=[1])), "translate.json",
     "'generators' must be a mapping"),
    ("step-string", _edit_meta(lambda m: m.update(step="x")), "translate.json", "'step' must be a whole number"),
    ("weights-missing", _set("", "file", "nope.safetensors"), "translate.json",
     "names 'nope.safetensors', which is missing from the run folder"),
    ("weights-outside", _set("", "file", "../x.safetensors"), "translate.json", "outside the run folder"),
    # the safetensors file
    ("header-huge-tensor", _rewrite_header(_huge_tensor), WEIGHTS, "truncated: its header says the data ends at"),
    ("header-claims-huge", _weights_bytes(lambda raw: struct.pack("<Q", 2**60) + raw[8:]), WEIGHTS,
     "its header claims 1,152,921,504,606,846,976 bytes, over the limit"),
    ("header-deep", _weights_bytes(lambda raw: struct.pack("<Q", len(DEEP)) + DEEP.encode()), WEIGHTS,
     "nested too deep"),
    ("header-dtype", _rewrite_header(_as_int64), WEIGHTS, "is I32 in the file, float32 in the architecture"),
    ("truncated", _weights_bytes(lambda raw: raw[:-100]), WEIGHTS, "truncated"),
    ("empty-weights", _weights_bytes(lambda raw: b""), WEIGHTS, "too short to be a safetensors file"),
    ("bare-deep-spec", _bare_deep_spec, "bare.safetensors", "architecture metadata is nested too deep"),
    ("bare-no-metadata", _bare_file(metadata={"x": "y"}), "bare.safetensors", "without translate metadata"),
    ("bare-label-no-classes", _bare_file(lambda s: s["preprocess"].update(input="label")), "bare.safetensors",
     "lacks 'num_classes'"),
    # published .pth
    ("pth-zip-bomb", _pth_zip_bomb, "bomb_net_G.pth", "torch never compresses them"),
    ("pth-legacy-claim", _pth_legacy_claim, "legacy_net_G.pth", "claims 100,000,000,000,000 elements"),
    ("pth-truncated", _pth_truncated, "cut_net_G.pth", "cut_net_G.pth"),
]


PARAMS = [pytest.param(make, file_name, fragment, id=name) for name, make, file_name, fragment in CASES]


@pytest.fixture
def image(tmp_path) -> Path:
    return write_png(tmp_path / "in" / "x.png", smooth(0, 32, 32))


def _one_line(capsys, file_name: str, fragment: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert file_name in err[0] and fragment in err[0], err[0]
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture
def no_real_build(monkeypatch):
    """Fails a test in which a generator is built anywhere but on the meta device."""
    real = GENERATORS.build
    built: List[str] = []

    def build(name, **kwargs):
        if torch.get_default_device().type != "meta":
            built.append(name)
        return real(name, **kwargs)

    monkeypatch.setattr(GENERATORS, "build", build)
    return built


@pytest.mark.parametrize("make,file_name,fragment", PARAMS)
def test_a_bad_model_file_is_one_line_through_every_door(checkpoint, tmp_path, image, capsys, no_real_build,
                                                         make, file_name, fragment):
    target = make(Path(checkpoint))
    assert main(["inspect", "--checkpoint", str(target)]) == 1
    _one_line(capsys, file_name, fragment)
    assert main(["apply", "--checkpoint", str(target), "--input", str(image), "--output",
                 str(tmp_path / "out" / "x.png")]) == 1
    _one_line(capsys, file_name, fragment)
    with pytest.raises(TranslateError) as info:
        translate.load(target)
    assert file_name in str(info.value) and fragment in str(info.value) and "\n" not in str(info.value)
    # Every refusal comes before a generator is built for real (the ones whose weights do not fit
    # are found from the header, against the meta-built architecture).
    assert no_real_build == []


def test_the_huge_architecture_is_refused_without_allocating(checkpoint, tmp_path):
    """ngf: 4096 (173 GiB) is refused from the meta device; the process never grows by gigabytes."""
    import resource

    _set("kwargs", "ngf", 4096)(Path(checkpoint))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match="over the limit of 1,000,000,000"):
        translate.load(checkpoint)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 512 * 1024


def test_the_parameter_limit_admits_every_published_size():
    """The largest published generators (pix2pixHD's local enhancer for label2city, U-Net 256) fit."""
    spec = GeneratorSpec("pix2pixhd_local", 36, 3, {"ngf": 32, "n_downsampling": 4, "n_blocks": 9,
                                                    "n_enhancers": 1, "n_blocks_local": 3})
    count = sum(p.numel() for p in spec.build_on_meta("label2city").parameters())
    assert 150e6 < count < PARAMETER_LIMIT / 5
    GeneratorSpec("unet_256", 3, 3, {"ngf": 64}).build_on_meta("unet")


# --------------------------------------------------------------------------- config.yaml and source.json


@pytest.mark.parametrize("text,fragment", [
    ('!!python/object/apply:os.system ["echo hi"]\n', "python/object/apply:os.system"),
    ("train: !!python/name:os.system\n", "not a plain YAML config (line 1)"),
    ("[" * 100_000 + "]" * 100_000, "config.yaml"),
    ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)),
     "expands too far"),
    ("- 1\n- 2\n", "expected a mapping, got list"),
    (": : :\n\t", "config.yaml"),
])
def test_a_bad_config_yaml_is_one_line_in_inspect(checkpoint, capsys, tmp_path, text, fragment):
    marker = tmp_path / "ran"
    (Path(checkpoint) / ckpt.CONFIG_FILE).write_text(text.replace("echo hi", f"touch {marker}"))
    assert main(["inspect", "--checkpoint", checkpoint]) == 1
    _one_line(capsys, "config.yaml", fragment)
    assert not marker.exists()


@pytest.mark.parametrize("text,fragment", [("[1]", "expected a mapping"), (DEEP, "nested too deep"),
                                           ("{", "not valid JSON")])
def test_a_bad_source_json_is_one_line_in_inspect(checkpoint, capsys, text, fragment):
    (Path(checkpoint) / "source.json").write_text(text)
    assert main(["inspect", "--checkpoint", checkpoint]) == 1
    _one_line(capsys, "source.json", fragment)


def test_a_good_run_folder_still_loads_and_inspects(checkpoint, capsys, image, tmp_path):
    (Path(checkpoint) / ckpt.CONFIG_FILE).write_text("train:\n  size: 32\n")
    assert main(["inspect", "--checkpoint", checkpoint]) == 0
    assert "train: {'size': 32}" in capsys.readouterr().out
    model = translate.load(checkpoint)
    assert model.spec.kwargs == {"ngf": 4, "n_blocks": 1}
    bare = _bare_file()(Path(checkpoint))
    assert translate.load(bare).spec.architecture == "resnet"


def test_an_unknown_direction_is_one_line(checkpoint):
    with pytest.raises(TranslateError, match="has no XtoY generator .it has: AtoB."):
        translate.load(checkpoint, direction="XtoY")


# --------------------------------------------------------------------------- input kinds


def test_every_input_kind_apply_reads_is_one_the_format_knows():
    """The registry of input kinds (checked when a spec is read) and the readers that use them agree."""
    from translate.apply.inputs import ENCODERS
    from translate.model_files.preprocess import INPUT_KINDS
    from translate.translators.pose2frame import INPUT_KIND

    assert set(ENCODERS) | {INPUT_KIND, "pose_face"} == set(INPUT_KINDS.names())


def test_label_preprocess_of_a_published_label_map_model_is_accepted(tmp_path):
    spec = {"architecture": "resnet", "in_channels": 36, "out_channels": 3, "kwargs": {"ngf": 4, "n_blocks": 1},
            "preprocess": {"input": "label", "num_classes": 35, "instance_maps": True}}
    assert GeneratorSpec.from_dict(spec, "x").preprocess["num_classes"] == 35


# --------------------------------------------------------------------------- 9: disk full while saving


def _tiny() -> Dict[str, Tuple[torch.nn.Module, GeneratorSpec]]:
    spec = GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", "AtoB")
    return {"AtoB": (spec.build(), spec)}


def _state(step: int) -> Dict[str, object]:
    return {"step": step, **{k: {} for k in ("generators", "discriminators", "opt_G", "opt_D", "scaler",
                                             "translator")}}


def _enospc(obj, path, *args, **kwargs):
    Path(path).write_bytes(b"half a file")  # what a full disk leaves: a partial temporary
    raise OSError(errno.ENOSPC, "No space left on device")


def _torch_short_write(obj, path, *args, **kwargs):
    Path(path).write_bytes(b"PK\x03\x04 half")
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 832 vs 740")


def _safetensors_enospc(tensors, path, *args, **kwargs):
    _enospc(tensors, path)


@pytest.mark.parametrize("target,writer", [("torch.save", _enospc), ("torch.save", _torch_short_write),
                                           ("translate.checkpoint.save_file", _safetensors_enospc)])
def test_a_full_disk_while_saving_is_one_line_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch,
                                                                                 target, writer):
    folder = tmp_path / "run"
    save_run(folder, _tiny(), step=2, translator="cyclegan", training_state=_state(2))
    before = sorted(p.name for p in folder.iterdir())
    monkeypatch.setattr(target, writer)
    with pytest.raises(ckpt.CheckpointWriteError) as info:
        save_run(folder, _tiny(), step=4, translator="cyclegan", training_state=_state(4))
    message = str(info.value)
    assert message.startswith(f"cannot write checkpoint to {folder}: ") and "\n" not in message
    assert message.endswith("(the previous checkpoint at step 2 is intact)")
    if writer is not _torch_short_write:
        assert "no space left on device" in message and info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError) and isinstance(info.value, TranslateError)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == before  # no temporaries left
    assert ckpt.read_metadata(folder)["step"] == 2 and ckpt.load_training_state(folder)["step"] == 2
    ckpt.load_generator(folder)


def test_a_full_disk_on_the_first_save_says_nothing_was_left(tmp_path, monkeypatch):
    monkeypatch.setattr("torch.save", _enospc)
    with pytest.raises(ckpt.CheckpointWriteError, match="no earlier checkpoint there"):
        save_run(tmp_path / "new", _tiny(), step=1, translator="cyclegan", training_state=_state(1))
    assert not [p for p in (tmp_path / "new").iterdir()]


def test_a_bug_while_saving_keeps_its_traceback(tmp_path, monkeypatch):
    def bug(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access")

    monkeypatch.setattr("torch.save", bug)
    with pytest.raises(RuntimeError, match="illegal memory access") as info:
        save_run(tmp_path / "run", _tiny(), step=1, translator="cyclegan", training_state=_state(1))
    assert not isinstance(info.value, TranslateError)


def test_the_corpus_makers_leave_the_original_fixture_loadable(checkpoint, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(checkpoint, copy)
    translate.load(copy)
