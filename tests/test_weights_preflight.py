"""Weights folders in the configs: refused at start (exit 2, one line naming the file) when a
file is not what its name says; a camera names the one set it encodes with."""

from __future__ import annotations

import shutil

import pytest

from camera_nodes.cli import main as camera_main
from decoder_node.cli import main as decoder_main
from pipeline.codec.model.registry import DEFAULT_MODEL, weights_path
from tests.weights_sets import perturbed_dsin


@pytest.fixture
def two_sets(tmp_path):
    """A folder with the shipped dsin-s1 set and a new one; the new file's path."""
    folder = tmp_path / "weights"
    new = perturbed_dsin(folder)
    shutil.copy(weights_path(DEFAULT_MODEL), folder)
    return new


def test_decoder_refuses_a_weights_file_whose_contents_do_not_match_its_name(
    tmp_path, capsys, two_sets
):
    config = tmp_path / "decoder.toml"
    open_ok = "[security]\nallow_insecure = true\n"  # the default binds are not loopback
    config.write_text(f'[codec]\nweights_dir = "{two_sets.parent}"\n' + open_ok)
    assert decoder_main(["--config", str(config), "--validate-config"]) == 0
    assert str(two_sets.parent) in capsys.readouterr().out
    forged = two_sets.parent / f"{DEFAULT_MODEL}-{'0' * 16}.pt"
    shutil.copy(two_sets, forged)
    config.write_text("[http]\nport = 0\n")
    assert decoder_main(["--config", str(config), "--weights-dir", str(two_sets.parent)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "codec.weights_dir" in err and str(forged) in err and "contents hash to" in err


def test_camera_weights_folder_and_hash_are_checked(tmp_path, capsys, two_sets):
    config = tmp_path / "camera.toml"
    config.write_text(f'side = "left"\ncodec = "dsin"\nweights_dir = "{two_sets.parent}"\n')
    assert camera_main(["--config", str(config), "--validate-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "camera.toml: weights_dir:" in err and "found 2" in err
    digest = two_sets.stem.rsplit("-", 1)[1]
    args = ["--config", str(config), "--validate-config", "--weights-hash", digest]
    assert camera_main(args) == 0
    assert str(two_sets) in capsys.readouterr().out
    assert camera_main([*args[:3], "--weights-hash", "f" * 16]) == 2
    assert "camera.toml: weights_hash:" in capsys.readouterr().err
    config.write_text('side = "left"\ncodec = "avif"\n')  # no si-std1 file in the folder
    assert camera_main([*args[:3], "--weights-dir", str(two_sets.parent)]) == 2
    assert "si-std1-<hash>.pt" in capsys.readouterr().err
    assert camera_main([*args[:3], "--weights-hash", "XYZ"]) == 2
    assert "16 lower-case hex digits" in capsys.readouterr().err
