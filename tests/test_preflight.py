"""Values that load but cannot start a node: refused by --validate-config and at start, exit 2,
one line naming the key (systemd's RestartPreventExitStatus=2 then does not loop)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camera_nodes.cli import main as camera_main
from decoder_node.cli import main as decoder_main
from tests.integration.secured_run import documented_keys_step, run_shell

DECODER_CASES = [
    ('[codec]\ndevice = "gpu"\n', "codec.device"),
    ('[codec]\ndevice = "cuda:0"\n', "codec.device"),  # this host has no CUDA device
    ('[codec]\nmodel = "dsin-s9"\n', "codec.model"),
    ('[receiver]\nbind = "tcp//*:5555"\n', "receiver.bind"),
    ('[receiver]\nbind = "tcp://*:70000"\n', "receiver.bind"),
    ('[[sinks]]\ntype = "zmq"\nbind = "udp://*:1"\n', "sinks[0].bind"),
]


CAMERA_CASES = [
    ('codec = "avif"\nquality = 0\n', "quality"),
    ('codec = "dsin"\nquality = 12\n', "quality"),
    ('codec = "dsin"\nmodel = "dsin-s9"\n', "model"),
    ('codec = "jpeg"\nmodel = "webp-si1"\n', "model"),
    ('endpoint = "tcp://decoder"\n', "endpoint"),
    ('[source]\ntype = "folder"\npath = "/nonexistent"\n', "source.path"),
]
NODES = {"decoder": (decoder_main, ""), "camera": (camera_main, 'side = "left"\n')}
CASES = [("decoder", *case) for case in DECODER_CASES] + [
    ("camera", *case) for case in CAMERA_CASES
]


@pytest.mark.parametrize(("node", "text", "key"), CASES)
def test_validate_config_checks_what_start_up_needs(tmp_path, capsys, node, text, key):
    """Decoder: device, model, endpoints; camera: codec, quality, model, endpoint, source."""
    main, preamble = NODES[node]
    path = tmp_path / f"{node}.toml"
    path.write_text(preamble + text)
    assert main(["--config", str(path), "--validate-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{node}.toml: {key}:" in err, err


def test_an_unwritable_png_sink_is_refused_before_start_in_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = tmp_path / "decoder.toml"
    path.write_text(f'[[sinks]]\ntype = "png"\ndir = "{blocker}/out"\n[http]\nport = 0\n')
    done = subprocess.run(
        [sys.executable, "-m", "stereo_app.cli", "decoder", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "sinks[0].dir" in lines[0] and "not a folder" in lines[0]
    assert "Traceback" not in done.stderr


def test_the_shipped_configs_pass(tmp_path, monkeypatch):
    """With the keys docs/install.md's "Keys" step generates, where their relative paths say."""
    run_shell(documented_keys_step()[0], tmp_path)
    monkeypatch.chdir(tmp_path)
    configs = Path(__file__).resolve().parents[1] / "configs"
    assert decoder_main(["--config", str(configs / "decoder.toml"), "--validate-config"]) == 0
    for side in ("left", "right"):
        path = configs / f"camera-{side}.toml"
        assert camera_main(["--config", str(path), "--validate-config"]) == 0
