"""The camera key rotation of docs/security.md, walked with real processes: keys as
docs/install.md generates them, a new pair for ``rig0-left``, both keys allowed over one
decoder restart, the camera switched to the new key, the old key removed over another restart
and then refused (and counted) while the new one decodes."""

from __future__ import annotations

import pytest

from stereo_app.demo.processes import camera_counts, health, scrape, spawn, stop, total, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.configs import camera_toml, cpu_decoder_toml
from tests.integration.secured_run import documented_keys_step, run_shell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
FRAMES = 4
DECODED = "stereo_decoder_frames_decoded_total"


def _cameras(folder, names: list[str]) -> list:
    """Run the cameras of ``names`` (config files written by the test) to their end."""
    logs = folder / "logs"
    cameras = [spawn(name, ["camera", "--config", f"{name}.toml"], logs) for name in names]
    for camera in cameras:
        assert wait_until(lambda c=camera: c.poll() is not None, 120), camera.name
    return cameras


def _decoder(folder, port: int, name: str):
    decoder = spawn(name, ["decoder", "--config", "decoder.toml"], folder / "logs")
    assert wait_until(lambda: (health(port) or {}).get("status") == "ok", 180), name
    return decoder


def test_a_camera_key_is_rotated_without_refusing_the_camera_and_the_old_key_then_refused(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shell, security, camera_keys = documented_keys_step()
    run_shell(shell, tmp_path)
    ports = pick_ports()
    pairing = 'mode = "sequence"\nmax_age_ms = 60000.0'
    (tmp_path / "decoder.toml").write_text(
        cpu_decoder_toml(ports.frames, ports.decoder_http, pairing=pairing) + security
    )
    endpoint, port = f"tcp://127.0.0.1:{ports.frames}", ports.decoder_http
    for name, key in (
        ("old-left", "rig0-left"),
        ("new-left", "rig0-left-2"),
        ("right", "rig0-right"),
    ):
        keys = {k: v.replace("rig0-left", key) for k, v in camera_keys.items()}
        (tmp_path / f"{name}.toml").write_text(
            camera_toml(
                "rig0",
                "right" if name == "right" else "left",
                endpoint,
                codec="avif",
                fps=8.0,
                frames=FRAMES,
                send_queue=100,
                flush_s=4.0,
                metrics_port=0,
                **keys,
            )
        )
    # steps 1 and 2: a new pair, its public certificate allowed next to the old one
    run_shell(
        [
            "stereo-pipeline keys generate --out keys --name rig0-left-2 --rig rig0 --side left",
            "cp keys/rig0-left-2.key keys/cameras/",
        ],
        tmp_path,
    )
    decoder = _decoder(tmp_path, port, "decoder-both-keys")
    try:
        for left in ("old-left", "new-left"):  # step 3: the camera switches to the new key
            for camera in _cameras(tmp_path, [left, "right"]):
                assert camera.exit_code == 0 and camera_counts(camera)["sent"] == FRAMES
        assert wait_until(lambda: total(scrape(port), DECODED, side="left") == 2 * FRAMES, 60)
        samples = scrape(port)
        assert total(samples, DECODED, side="right") == 2 * FRAMES
        assert total(samples, "stereo_decoder_auth_refused_total") == 0
    finally:
        assert stop(decoder, 60.0) == 0
    # step 4: the old certificate removed; the old key is refused, the new one decodes
    run_shell(["rm keys/cameras/rig0-left.key"], tmp_path)
    decoder = _decoder(tmp_path, port, "decoder-new-key")
    try:
        _, new, _ = _cameras(tmp_path, ["old-left", "new-left", "right"])
        assert new.exit_code == 0 and camera_counts(new)["sent"] == FRAMES
        assert wait_until(lambda: total(scrape(port), DECODED, side="left") == FRAMES, 60)
        samples = scrape(port)
        assert total(samples, DECODED, side="right") == FRAMES
        # the old key's frames never arrive: only the new camera's are received
        assert total(samples, "stereo_decoder_frames_received_total", side="left") == FRAMES
        assert total(samples, "stereo_decoder_auth_refused_total", socket="frames") >= 1
    finally:
        assert stop(decoder, 60.0) == 0
