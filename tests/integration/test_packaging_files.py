"""Container and systemd files: health checks that work, pinned ids, a build context without
secrets, and units that stay hardened (docs/install.md)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stereo_app.demo.setup import free_port

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "deploy" / "docker"
SYSTEMD = REPO / "deploy" / "systemd"
IMAGES = {"camera": "8471", "decoder": "8470"}

pytestmark = pytest.mark.timeout(120)


class _Healthz(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args) -> None:
        pass


def _healthcheck(image: str) -> list[str]:
    text = (DOCKER / f"{image}.Dockerfile").read_text()
    match = re.search(r"^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$", text, re.M)
    assert match, f"{image}: no exec-form HEALTHCHECK"
    return json.loads(match[1])


def _run_check(command: list[str], port: int) -> int:
    assert command[0] == "python"
    env = {"HEALTH_PORT": str(port), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
    ).returncode


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_healthcheck_passes_only_while_healthz_answers_200(image: str) -> None:
    text = (DOCKER / f"{image}.Dockerfile").read_text()
    assert f"HEALTH_PORT={IMAGES[image]}" in text
    command = _healthcheck(image)
    handler = type("Handler", (_Healthz,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert _run_check(command, server.server_port) == 0
        handler.status = 503
        assert _run_check(command, server.server_port) != 0
    finally:
        server.shutdown()
        server.server_close()
    assert _run_check(command, free_port()) != 0  # nothing listening


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_images_run_as_stereo_pinned_to_10001(image: str) -> None:
    text = (DOCKER / f"{image}.Dockerfile").read_text()
    assert "groupadd --system --gid 10001 stereo" in text
    assert "--uid 10001 --gid 10001" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)


def test_camera_image_is_the_torch_free_install_unless_asked() -> None:
    text = (DOCKER / "camera.Dockerfile").read_text()
    assert 'ARG EXTRAS=""' in text
    assert 'pip install ".${EXTRAS:+[$EXTRAS]}"' in text
    assert "[learned]" in (DOCKER / "decoder.Dockerfile").read_text()


def test_dockerignore_keeps_out_secrets_and_outputs_but_not_what_images_copy() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "out", "keys", "tests", "**/__pycache__"} <= ignored
    for image in IMAGES:
        text = (DOCKER / f"{image}.Dockerfile").read_text()
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
            for path in source.split():
                assert path.split("/")[0] not in ignored, (image, path)
                assert (REPO / path).exists(), (image, path)


def _exposure(unit: Path) -> float:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    return float(match[1])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_units_score_under_5_in_systemd_analyze_security(tmp_path: Path) -> None:
    decoder = SYSTEMD / "stereo-decoder.service"
    camera = tmp_path / "stereo-camera@left.service"
    shutil.copy(SYSTEMD / "stereo-camera@.service", camera)
    for unit in (decoder, camera):
        assert _exposure(unit) < 5.0, unit.name


@pytest.mark.parametrize("unit", ["stereo-decoder.service", "stereo-camera@.service"])
def test_units_have_a_state_directory_and_stop_on_config_errors(unit: str) -> None:
    text = (SYSTEMD / unit).read_text()
    for line in (
        "StateDirectory=stereo-pipeline",
        "WorkingDirectory=/var/lib/stereo-pipeline",
        "RestartPreventExitStatus=2",
        "ProtectSystem=strict",
        "DevicePolicy=closed",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), (unit, line)
    assert "ReadOnlyPaths" not in text and "PrivateDevices=true" not in text
