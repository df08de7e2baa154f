"""Files the user did not ask for are not touched."""
from translate.cli import main

from test_interop_download import _closed_port_url


def test_download_offline_leaves_no_empty_folder(tmp_path, capsys):
    assert main(["download", "zebra2horse", "--url", _closed_port_url(), "--checkpoints-dir", str(tmp_path / "ck")]) == 1
    assert "by hand" in capsys.readouterr().err
    assert not (tmp_path / "ck").exists()
    assert main(["apply", "--checkpoint", str(tmp_path / "ck" / "zebra2horse"), "--input", str(tmp_path),
                 "--output", str(tmp_path / "o")]) == 1
    assert "no such checkpoint" in capsys.readouterr().err
