"""Downloads against a local HTTP server on 127.0.0.1 (no test touches the network)."""
import hashlib
import http.server
import io
import re
import socket
import threading

import pytest
import torch

from translate.checkpoint import read_metadata
from translate.interop.loading import load_generator
from translate.cli import main
from translate.interop.download import fetch
from translate.interop.errors import DownloadError
from translate.interop.layouts import reference_resnet, reference_unet

torch.set_num_threads(1)


class _Files(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` with optional Range support; ``cut_after`` drops the connection mid-body."""

    files: dict = {}
    honour_ranges = True
    cut_after = None
    requests: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).requests.append((self.path, self.headers.get("Range")))
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        m = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        if m and self.honour_ranges:
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.cut_after is not None:
            self.wfile.write(body[: self.cut_after])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the peer sees a short body
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Files,), {"files": {}, "requests": [], "honour_ranges": True, "cut_after": None})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield handler
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/x.pth"  # nothing listens there any more: like no network


PAYLOAD = bytes(range(256)) * 4099  # ~1 MiB, not a multiple of the 1 MiB chunk


def test_fetch_places_the_complete_file_atomically(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    dest = fetch(f"{server.base}/m.pth", tmp_path / "m.pth", sha256=hashlib.sha256(PAYLOAD).hexdigest(),
                 progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pth"]  # no .part left behind


def test_fetch_resumes_a_partial_download_with_a_range_request(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    (tmp_path / "m.pth.part").write_bytes(PAYLOAD[:300_000])
    fetch(f"{server.base}/m.pth", tmp_path / "m.pth", progress=False)
    assert server.requests == [("/m.pth", "bytes=300000-")]
    assert (tmp_path / "m.pth").read_bytes() == PAYLOAD


def test_fetch_starts_over_when_the_server_ignores_ranges(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    server.honour_ranges = False
    (tmp_path / "m.pth.part").write_bytes(b"x" * 1000)  # would corrupt the file if appended to
    fetch(f"{server.base}/m.pth", tmp_path / "m.pth", progress=False)
    assert (tmp_path / "m.pth").read_bytes() == PAYLOAD


def test_an_interrupted_download_keeps_its_part_and_the_next_run_resumes(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    server.cut_after = 400_000
    with pytest.raises(DownloadError, match="kept"):
        fetch(f"{server.base}/m.pth", tmp_path / "m.pth", progress=False)
    assert not (tmp_path / "m.pth").exists()  # never a half file under the final name
    assert (tmp_path / "m.pth.part").stat().st_size == 400_000
    server.cut_after = None
    fetch(f"{server.base}/m.pth", tmp_path / "m.pth", progress=False)
    assert server.requests[-1] == ("/m.pth", "bytes=400000-")
    assert (tmp_path / "m.pth").read_bytes() == PAYLOAD


def test_a_part_that_is_already_complete_is_verified_and_placed(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    (tmp_path / "m.pth.part").write_bytes(PAYLOAD)  # server answers 416 to the range
    fetch(f"{server.base}/m.pth", tmp_path / "m.pth", sha256=hashlib.sha256(PAYLOAD).hexdigest(), progress=False)
    assert (tmp_path / "m.pth").read_bytes() == PAYLOAD


def test_checksum_mismatch_is_an_error_and_nothing_is_placed(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    with pytest.raises(DownloadError, match="sha256 .* does not match the expected 0000"):
        fetch(f"{server.base}/m.pth", tmp_path / "m.pth", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_size_mismatch_and_http_errors(server, tmp_path):
    server.files["/m.pth"] = PAYLOAD
    with pytest.raises(DownloadError, match=f"{len(PAYLOAD)} bytes, expected 5"):
        fetch(f"{server.base}/m.pth", tmp_path / "m.pth", size=5, progress=False)
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(f"{server.base}/missing.pth", tmp_path / "m.pth", progress=False)


def test_no_network_says_where_to_put_the_file_by_hand(tmp_path):
    url = _closed_port_url()
    with pytest.raises(DownloadError) as err:
        fetch(url, tmp_path / "h2z" / "horse2zebra.pth", progress=False)
    message = str(err.value)
    assert url in message and "by hand" in message and str(tmp_path / "h2z" / "horse2zebra.pth") in message
    assert "\n" not in message


# --------------------------------------------------------------------------- translate download


def _reference_file(layout):
    """A state dict in ``layout``'s published keys (random weights), as torch.save bytes."""
    net_like = {k: torch.randn(s) * 0.02 if s else torch.tensor(0) for k, s in layout.keys.items()}
    buffer = io.BytesIO()
    torch.save(net_like, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def horse2zebra_bytes():
    return _reference_file(reference_resnet(ngf=64, n_blocks=9))  # the published architecture, full size


def test_download_command_fetches_converts_once_and_apply_runs(server, tmp_path, horse2zebra_bytes, capsys):
    server.files["/horse2zebra.pth"] = horse2zebra_bytes
    ck = tmp_path / "checkpoints"
    argv = ["download", "horse2zebra", "--url", f"{server.base}/horse2zebra.pth", "--checkpoints-dir", str(ck)]
    assert main(argv) == 0
    folder = ck / "horse2zebra"
    meta = read_metadata(folder)
    assert meta["translator"] == "cyclegan" and meta["generators"]["AtoB"]["architecture"] == "resnet_9blocks"
    assert (folder / "horse2zebra.pth").read_bytes() == horse2zebra_bytes  # the original, as published
    assert "sha256 " + hashlib.sha256(horse2zebra_bytes).hexdigest() in capsys.readouterr().err

    # The converted folder gives the same network as the original file.
    from_folder, _ = load_generator(folder)
    from_pth, _ = load_generator(folder / "horse2zebra.pth")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(from_folder.eval()(x), from_pth.eval()(x))

    # Second run: nothing fetched again.
    before = len(server.requests)
    assert main(argv) == 0
    assert len(server.requests) == before and "already in" in capsys.readouterr().err

    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "horse.png"), (np.random.default_rng(0).random((36, 44, 3)) * 255).astype(np.uint8))
    assert main(["apply", "--checkpoint", str(folder), "--input", str(tmp_path / "horse.png"),
                 "--output", str(tmp_path / "zebra.png"), "--precision", "fp32"]) == 0
    assert cv2.imread(str(tmp_path / "zebra.png")).shape == (36, 44, 3)


def test_download_uses_a_file_placed_by_hand_without_network(tmp_path, horse2zebra_bytes):
    ck = tmp_path / "checkpoints"
    (ck / "horse2zebra").mkdir(parents=True)
    (ck / "horse2zebra" / "horse2zebra.pth").write_bytes(horse2zebra_bytes)
    assert main(["download", "horse2zebra", "--url", _closed_port_url(), "--checkpoints-dir", str(ck)]) == 0
    assert read_metadata(ck / "horse2zebra")["generators"]["AtoB"]["architecture"] == "resnet_9blocks"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_users_own_run_with_the_published_name_is_never_taken_or_overwritten(server, tmp_path, capsys, force,
                                                                              horse2zebra_bytes):
    from translate.checkpoint import GeneratorSpec, save_run

    server.files["/horse2zebra.pth"] = horse2zebra_bytes
    ck = tmp_path / "checkpoints"
    spec = GeneratorSpec("resnet", 3, 3, {"ngf": 4, "n_blocks": 1}, {"size": 32}, "cyclegan", "AtoB")
    save_run(ck / "horse2zebra", {"AtoB": (spec.build(), spec)}, step=7, translator="cyclegan")
    before = {p.name: p.read_bytes() for p in (ck / "horse2zebra").iterdir() if p.is_file()}
    argv = ["download", "horse2zebra", "--url", f"{server.base}/horse2zebra.pth", "--checkpoints-dir", str(ck)]
    assert main(argv + force) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not the published horse2zebra" in err[0]
    assert {p.name: p.read_bytes() for p in (ck / "horse2zebra").iterdir() if p.is_file()} == before
    assert server.requests == []  # refused before fetching anything


def test_download_without_network_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["download", "zebra2horse", "--url", _closed_port_url(), "--checkpoints-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "by hand" in err and "zebra2horse.pth" in err


def test_download_refuses_a_file_of_the_wrong_architecture(server, tmp_path, capsys):
    server.files["/h.pth"] = _reference_file(reference_unet(ngf=4, num_downs=5))
    ck = tmp_path / "checkpoints"
    assert main(["download", "horse2zebra", "--url", f"{server.base}/h.pth", "--checkpoints-dir", str(ck)]) == 1
    assert "wrong file?" in capsys.readouterr().err
    assert not (ck / "horse2zebra" / "translate.json").exists()


def test_download_list_and_unknown_names(capsys):
    assert main(["download", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in ("horse2zebra", "style_monet", "pix2pix_facades_label2photo", "edges2shoes"):
        assert name in listing
    assert "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth" in listing
    assert main(["download", "hors2zebra"]) == 1
    assert "did you mean horse2zebra" in capsys.readouterr().err


def test_manual_model_needs_the_file_by_hand_then_converts_with_its_input_encoding(tmp_path):
    from translate.interop.download import install
    from translate.interop.layouts_pix2pixhd import pix2pixhd_local
    from translate.interop.published import PublishedModel

    small = dict(ngf=4, n_downsampling=3, n_blocks=1, n_enhancers=1, n_blocks_local=1, norm="instance")
    model = PublishedModel("tiny_hd", "https://drive.example/abc", "latest_net_G.pth", "pix2pixhd",
                           "pix2pixhd_local", small, in_channels=36, manual=True,
                           preprocess={"input": "label", "num_classes": 35, "instance_maps": True})
    with pytest.raises(DownloadError, match=r"needs a browser; download https://drive.example/abc by hand"):
        install(model, tmp_path, log=lambda line: None)
    (tmp_path / "tiny_hd" / "latest_net_G.pth").write_bytes(
        _reference_file(pix2pixhd_local(36, 3, **{k: v for k, v in small.items()})))
    folder = install(model, tmp_path, log=lambda line: None)
    entry = read_metadata(folder)["generators"]["AtoB"]
    assert entry["architecture"] == "pix2pixhd_local" and entry["translator"] == "pix2pixhd"
    assert entry["preprocess"] == {"input": "label", "num_classes": 35, "instance_maps": True}
