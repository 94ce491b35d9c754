"""A rolling weights upgrade with real processes: one decoder serves two dsin-s1 weights sets.

The decoder runs with a weights folder holding a second ``dsin-s1`` set (the shipped weights,
changed a little, so its hash differs). Rig ``new`` is two real camera node processes moved to
that set by their config alone; rigs ``old`` (the built-in set), ``mixed`` (left view moved,
right not yet: one camera at a time) and ``stale`` (a third set the decoder does not have) are
sent pre-encoded over the real wire protocol. Every frame on either installed set is decoded,
none is counted as ``model_mismatch``, and every frame of the missing set is.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from pipeline.codec import ImageEncoder, Role
from pipeline.codec.model.registry import DEFAULT_MODEL, load_file
from pipeline.codec.weights import named_hash
from pipeline.wire import PROTOCOL_VERSION, FrameHeader, encode_frame
from stereo_app.demo.processes import camera_counts, health, scrape, spawn, stop, total, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.configs import camera_toml, cpu_decoder_toml
from tests.weights_sets import perturbed_dsin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FRAMES = 5
DECODED = "stereo_decoder_frames_decoded_total"
DROPPED = "stereo_decoder_frames_dropped_total"
BY_WEIGHTS = "stereo_decoder_frames_decoded_by_weights_total"


def _camera_toml(side: str, frames_port: int, weights: Path) -> str:
    digest = weights.stem.rsplit("-", 1)[1]
    pin = {"weights_hash": digest} if side == "right" else {}  # left: the only file there
    return camera_toml(
        "new", side, f"tcp://127.0.0.1:{frames_port}", codec="dsin", quality=4, fps=4.0,
        frames=FRAMES, send_queue=100, flush_s=10.0, metrics_port=0,
        weights_dir=str(weights.parent), **pin,
    )  # fmt: skip


def _messages(rig: str, encoders: dict[str, ImageEncoder]) -> list[list]:
    """FRAMES pairs of rig ``rig``, each view encoded with its side's encoder."""
    rng, out = np.random.default_rng(7), []
    for seq in range(FRAMES):
        image = np.kron(
            rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8)
        )
        for side, role in (("left", Role.PRIMARY), ("right", Role.SIDE)):
            now = time.time_ns()
            header = FrameHeader(PROTOCOL_VERSION, rig, side, seq, now, now, DEFAULT_MODEL, 4,
                                 48, 64, 3)  # fmt: skip
            out.append(encode_frame(header, encoders[side].encode(image, role, 4)))
    return out


def test_one_decoder_decodes_cameras_on_either_installed_weights_set(tmp_path: Path) -> None:
    new = perturbed_dsin(tmp_path / "new")
    stale = perturbed_dsin(tmp_path / "stale", brighter=0.04)  # never installed on the decoder
    installed = tmp_path / "decoder-weights"
    installed.mkdir()
    shutil.copy(new, installed)
    ports = pick_ports()
    pairing = 'mode = "sequence"\nmax_age_ms = 5000.0'
    toml = cpu_decoder_toml(ports.frames, ports.decoder_http, pairing=pairing)
    (tmp_path / "decoder.toml").write_text(toml)
    for side in ("left", "right"):
        (tmp_path / f"{side}.toml").write_text(_camera_toml(side, ports.frames, new))
    decoder = spawn("decoder", ["decoder", "--config", str(tmp_path / "decoder.toml"),
                                "--weights-dir", str(installed)], tmp_path)  # fmt: skip
    cameras = [spawn(f"camera-{side}", ["camera", "--config", str(tmp_path / f"{side}.toml")],
                     tmp_path) for side in ("left", "right")]  # fmt: skip
    old, moved = ImageEncoder(), ImageEncoder(loaded=load_file(new))
    missing = ImageEncoder(loaded=load_file(stale))
    sent = {"old": {"left": old, "right": old}, "mixed": {"left": moved, "right": old},
            "stale": {"left": missing, "right": missing}}  # fmt: skip
    messages = [m for rig, encoders in sent.items() for m in _messages(rig, encoders)]
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    port = ports.decoder_http
    try:
        assert wait_until(lambda: (health(port) or {}).get("status") == "ok", 180)
        push.connect(f"tcp://127.0.0.1:{ports.frames}")
        for message in messages:
            push.send_multipart(message)
        expected = {"new": 2 * FRAMES, "old": 2 * FRAMES, "mixed": 2 * FRAMES}
        assert wait_until(lambda: all(total(scrape(port), DECODED, rig=r) >= n
                                      for r, n in expected.items()), 150), scrape(port)  # fmt: skip
        assert wait_until(lambda: total(scrape(port), DROPPED, rig="stale") >= 2 * FRAMES, 30)
        samples = scrape(port)
        for rig, count in expected.items():
            assert total(samples, DECODED, rig=rig) == count, rig
            assert total(samples, DROPPED, rig=rig) == 0, rig
        assert total(samples, DROPPED, rig="stale", reason="model_mismatch") == 2 * FRAMES
        assert total(samples, DECODED, rig="stale") == 0
        new_hash, old_hash = named_hash(DEFAULT_MODEL, new.parent), named_hash(DEFAULT_MODEL)
        assert (
            total(samples, BY_WEIGHTS, weights=DEFAULT_MODEL, weights_hash=new_hash) == 3 * FRAMES
        )
        assert (
            total(samples, BY_WEIGHTS, weights=DEFAULT_MODEL, weights_hash=old_hash) == 3 * FRAMES
        )
        for digest in (new_hash, old_hash):
            assert total(samples, "stereo_decoder_weights_installed", weights_hash=digest) == 1
        for camera in cameras:
            assert wait_until(lambda c=camera: c.poll() is not None, 60)
            assert camera.exit_code == 0 and camera_counts(camera)["sent"] == FRAMES
    finally:
        push.close(linger=0)
        context.term()
        for camera in cameras:
            stop(camera, 20.0)
        assert stop(decoder, 60.0) == 0
