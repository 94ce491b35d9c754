"""CURVE between real camera node processes and a real decoder process.

Allowed cameras get every frame decoded; a camera whose key is not on the allowlist gets
nothing through (its connection is refused, and counted), and an allowed camera cannot send
another rig's frames, nor its rig's other side; a key of the old version (a rig, no side) still
sends either side of its rig, and is counted.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from pipeline.codec import Role
from pipeline.codec.encode import StandardEncoder
from pipeline.security import generate, load_keypair, load_public
from pipeline.wire import PROTOCOL_VERSION, FrameHeader, encode_frame
from stereo_app.demo.processes import camera_counts, health, scrape, spawn, stop, total, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.configs import camera_toml, cpu_decoder_toml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _keys(folder: Path) -> None:
    generate(folder, "decoder")
    for name, rig, side in (("r-left", "r", "left"), ("r-right", "r", "right"),
                            ("other", "q", "left"), ("intruder", "r", "left"),
                            ("legacy", "p", None)):  # fmt: skip
        generate(folder, name, rig, side)
    allowed = folder / "cameras"
    allowed.mkdir()
    for name in ("r-left", "r-right", "other", "legacy"):  # the intruder's key is not allowed
        shutil.copy(folder / f"{name}.key", allowed)


def _camera_toml(side: str, frames: int, ports, keys: Path) -> str:
    return camera_toml(
        "r", side, f"tcp://127.0.0.1:{ports.frames}", codec="avif", fps=8.0, frames=frames,
        send_queue=100, flush_s=10.0, metrics_port=0,
        secret_key=str(keys / f"r-{side}.key_secret"), server_key=str(keys / "decoder.key"),
    )  # fmt: skip


def _client(context: zmq.Context, keys: Path, name: str, endpoint: str) -> zmq.Socket:
    push = context.socket(zmq.PUSH)
    push.curve_publickey, push.curve_secretkey = load_keypair("key", keys / f"{name}.key_secret")
    push.curve_serverkey = load_public("key", keys / "decoder.key")
    push.setsockopt(zmq.LINGER, 0)
    push.connect(endpoint)
    return push


def _frame(rig: str, side: str) -> list[bytes]:
    image = np.full((48, 64, 3), 128, np.uint8)
    role = Role.PRIMARY if side == "left" else Role.SIDE
    data = StandardEncoder("avif").encode(image, role, 50)
    header = FrameHeader(PROTOCOL_VERSION, rig, side, 1000, time.time_ns(), time.time_ns(),
                         "avif-si1", 50, 48, 64, 3)  # fmt: skip
    return encode_frame(header, data)


def test_only_allowed_cameras_get_frames_through_and_only_for_their_rig_and_side(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    _keys(keys)
    ports = pick_ports()
    security = f'[security]\nenabled = true\nsecret_key = "{keys / "decoder.key_secret"}"\n'
    security += f'cameras = "{keys / "cameras"}"\n'
    decoder_toml = cpu_decoder_toml(ports.frames, ports.decoder_http,
                                    pairing='mode = "sequence"') + security  # fmt: skip
    (tmp_path / "decoder.toml").write_text(decoder_toml)
    for side in ("left", "right"):
        (tmp_path / f"{side}.toml").write_text(_camera_toml(side, 8, ports, keys))
    port, endpoint = ports.decoder_http, f"tcp://127.0.0.1:{ports.frames}"
    decoder = spawn("decoder", ["decoder", "--config", str(tmp_path / "decoder.toml")], tmp_path)
    context, cameras = zmq.Context(), []
    try:
        assert wait_until(lambda: (health(port) or {}).get("status") == "ok", 180)
        cameras = [spawn(side, ["camera", "--config", str(tmp_path / f"{side}.toml")], tmp_path)
                   for side in ("left", "right")]  # fmt: skip
        intruder = _client(context, keys, "intruder", endpoint)
        with contextlib.suppress(zmq.Again):  # an unknown key: refused (once it is, there is
            intruder.send_multipart(_frame("r", "left"), zmq.NOBLOCK)  # no peer to queue for)
        other = _client(context, keys, "other", endpoint)
        other.send_multipart(_frame("r", "left"))  # rig q's key sending rig r's frame
        left = _client(context, keys, "r-left", endpoint)
        left.send_multipart(_frame("r", "right"))  # rig r's left key sending a right view
        legacy = _client(context, keys, "legacy", endpoint)
        legacy.send_multipart(_frame("p", "right"))  # a key without a side: either side passes
        decoded = "stereo_decoder_frames_decoded_total"
        assert wait_until(lambda: total(scrape(port), decoded, rig="r") >= 16, 120), scrape(port)
        malformed = "stereo_decoder_malformed_messages_total"
        assert wait_until(lambda: total(scrape(port), malformed, reason="wrong_side") == 1, 30)
        samples = scrape(port)
        assert total(samples, malformed, reason="wrong_rig") == 1
        assert total(samples, "stereo_decoder_auth_refused_total", socket="frames") >= 1
        assert total(samples, "stereo_decoder_auth_refused_total", socket="sink") == 0
        assert total(samples, "stereo_decoder_legacy_camera_keys") == 1
        assert total(samples, "stereo_decoder_frames_received_total", rig="p", side="right") == 1
        assert total(samples, "stereo_decoder_frames_received_total", rig="r") == 16
        assert total(samples, decoded, rig="r") == 16
        assert total(samples, "stereo_decoder_frames_received_total", rig="q") == 0
        for camera in cameras:
            assert wait_until(lambda c=camera: c.poll() is not None, 60)
            assert camera.exit_code == 0 and camera_counts(camera)["sent"] == 8
    finally:
        context.destroy(linger=0)
        for camera in cameras:
            stop(camera, 20.0)
        assert stop(decoder, 60.0) == 0
