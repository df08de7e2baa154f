"""A pickled checkpoint that would run code when loaded is refused, and nothing runs."""
import pathlib
import pickle

import pytest
import torch

from translate.interop.loading import load_generator
from translate.cli import main
from translate.interop.errors import UnsafeCheckpointError


class _TouchOnLoad:
    """Unpickling this object calls ``Path.touch(marker)``: a stand-in for any code execution."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def _pickle_globals(path) -> str:
    """The names a checkpoint's pickle would import, from its opcodes (zip or legacy format)."""
    import pickletools
    import zipfile

    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    else:  # legacy format: several pickles back to back; the objects are in the fourth
        import io

        stream = io.BytesIO(data)
        for _ in range(3):
            pickle.load(stream)  # magic number, protocol version, sys info: plain values, safe
        data = stream.read()
    return " ".join(str(arg) for op, arg, _ in pickletools.genops(data) if arg is not None)


@pytest.mark.parametrize("zip_format", [True, False])
def test_malicious_pickle_is_refused_and_does_not_run(tmp_path, zip_format):
    marker = tmp_path / "marker"
    path = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": torch.zeros(1), "evil": _TouchOnLoad(marker)}, path,
               _use_new_zipfile_serialization=zip_format)
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError, match=r"refused: loading it would import and call "):
        load_generator(path)
    assert not marker.exists()

    # The file really carries the call (checked by reading its pickle opcodes, never by running it).
    assert "touch" in _pickle_globals(path)


def test_raw_pickle_payload_is_refused_by_the_cli(tmp_path, capsys):
    marker = tmp_path / "marker"
    path = tmp_path / "horse2zebra.pth"
    path.write_bytes(pickle.dumps(_TouchOnLoad(marker), protocol=2))
    from trust_corpus import smooth, write_png

    write_png(tmp_path / "in" / "x.png", smooth(0, 16, 16))  # a real input: the refusal must be the model's
    for argv in (["inspect", "--checkpoint", str(path)],
                 ["apply", "--checkpoint", str(path), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o")]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert "refused" in err and str(path) in err and len(err.splitlines()) == 1
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # control: the payload is real
    assert marker.exists()


def test_a_torchscript_export_is_one_line_wherever_a_model_is_loaded(tmp_path, capsys):
    """apply, inspect and translate.load name the file and say what to give instead."""
    import torch

    import translate
    from translate.cli import main
    from translate.errors import TranslateError

    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.trace(torch.nn.Conv2d(3, 3, 1), torch.zeros(1, 3, 8, 8)), str(path))
    with pytest.raises(TranslateError, match="TorchScript export cannot be loaded"):
        translate.load(path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"")
    for argv in (["inspect", "--checkpoint", str(path)],
                 ["apply", "--checkpoint", str(path), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o")]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "model.pt" in err[0] and ".safetensors" in err[0], err
