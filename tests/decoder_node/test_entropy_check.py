"""Without numba the entropy decoder would be CompressAI's, which does not check its reads: the
daemon refuses to start unless ``STEREO_ALLOW_UNCHECKED_RANS=1``, and then says so in /healthz
and ``stereo_decoder_entropy_bounds_checked``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from decoder_node.app import DecoderApp
from pipeline.codec.entropy import rans
from tests.decoder_node.test_app import config, get

REPO = Path(__file__).resolve().parents[2]
ENV = rans.ALLOW_UNCHECKED_ENV


def test_without_numba_validate_config_refuses_unless_allowed(tmp_path):
    """A real process with numba unimportable: exit 2 and one line naming the variable; with
    the variable set the config passes."""
    path = tmp_path / "decoder.toml"
    # loopback only: open on other addresses needs [security] allow_insecure (another refusal)
    loopback = '[receiver]\nbind = "tcp://127.0.0.1:5555"\n[http]\nhost = "127.0.0.1"\nport = 0\n'
    path.write_text(loopback)
    cmd = [sys.executable, "-m", "tests.integration.without_torch", "--only", "numba", "decoder"]
    cmd += ["--config", str(path), "--validate-config"]
    env = {k: v for k, v in os.environ.items() if k != ENV}
    run = dict(capture_output=True, text=True, timeout=120, cwd=REPO)
    refused = subprocess.run(cmd, env=env, **run)
    assert refused.returncode == 2, refused.stderr
    lines = [x for x in refused.stderr.splitlines() if not x.startswith("blocked:")]
    assert len(lines) == 1 and f"decoder.toml: {ENV}: numba is not installed" in lines[0]
    allowed = subprocess.run(cmd, env={**env, ENV: "1"}, **run)
    assert allowed.returncode == 0, allowed.stderr
    assert "blocked: numba" in allowed.stderr  # it did run without numba


def test_daemon_refuses_unchecked_decoding_unless_allowed(tmp_path, monkeypatch, fake_decoder_cls):
    monkeypatch.setattr(rans, "BOUNDS_CHECKED", False)
    monkeypatch.delenv(ENV, raising=False)
    app = DecoderApp(config(tmp_path), CollectorRegistry(), decoder=fake_decoder_cls())
    stop = threading.Event()
    stop.set()
    assert app.run(stop) == 2
    assert app.failure is not None and ENV in app.failure
    assert app.health()["status"] == "stopped"


@pytest.mark.parametrize("checked", [True, False])
def test_healthz_and_metrics_say_whether_reads_are_checked(
    tmp_path, monkeypatch, fake_decoder_cls, checked
):
    """numba installed (here): true and 1; without it, allowed by the variable: false and 0."""
    assert rans.BOUNDS_CHECKED
    if not checked:
        monkeypatch.setattr(rans, "BOUNDS_CHECKED", False)
        monkeypatch.setenv(ENV, "1")
    app = DecoderApp(config(tmp_path), CollectorRegistry(), decoder=fake_decoder_cls())
    app.start()
    try:
        health = json.loads(get(app.http_port, "/healthz")[1])
        metrics = get(app.http_port, "/metrics")[1].decode()
    finally:
        app.stop()
    assert health["status"] == "ok"
    assert health["entropy_bounds_checked"] is checked
    assert f"\nstereo_decoder_entropy_bounds_checked {float(checked)}\n" in metrics
