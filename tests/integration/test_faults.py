"""Faults against a real decoder process: made-up rigs holding every slot, a camera clock that
jumps. Through each, every frame received is decoded or dropped with a reason, and the daemon
logs its final counts as it stops."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from pipeline.codec import ImageEncoder, Role
from pipeline.wire import PROTOCOL_VERSION, FrameHeader, encode_frame
from stereo_app.demo.processes import health, scrape, spawn, stop, total, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.configs import cpu_decoder_toml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SECOND = 1_000_000_000


def _config(frames: int, http: int) -> str:
    return cpu_decoder_toml(
        frames,
        http,
        receiver="max_rigs = 2\nrig_idle_s = 2.0",
        pairing='mode = "timestamp"\nslop_ms = 30.0\nmax_age_ms = 300.0',
    )


class Sender:
    """Frame messages of one 64x64 pair, as cameras would send them."""

    def __init__(self, endpoint: str) -> None:
        rng = np.random.default_rng(0)
        image = np.kron(
            rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8)
        )
        encoder = ImageEncoder()
        self.payload = {
            "left": encoder.encode(image, Role.PRIMARY, 4),
            "right": encoder.encode(image, Role.SIDE, 4),
        }
        self.context = zmq.Context()
        self.push = self.context.socket(zmq.PUSH)
        self.push.connect(endpoint)

    def send(self, rig: str, side: str, seq: int, capture_ns: int) -> None:
        header = FrameHeader(
            PROTOCOL_VERSION, rig, side, seq, capture_ns, time.time_ns(), "dsin-s1", 4, 64, 64, 3
        )
        self.push.send_multipart(encode_frame(header, self.payload[side]))

    def close(self) -> None:
        self.push.close(linger=1000)
        self.context.term()


def _balanced(samples) -> bool:
    for rig in ("x", "y", "r"):
        for side in ("left", "right"):
            received = total(samples, "stereo_decoder_frames_received_total", rig=rig, side=side)
            decoded = total(samples, "stereo_decoder_frames_decoded_total", rig=rig, side=side)
            dropped = total(samples, "stereo_decoder_frames_dropped_total", rig=rig, side=side)
            if received != decoded + dropped:
                return False
    return True


def test_rig_slots_and_a_clock_jump_keep_every_frame_accounted(tmp_path: Path) -> None:
    ports = pick_ports()
    (tmp_path / "decoder.toml").write_text(_config(ports.frames, ports.decoder_http))
    decoder = spawn(
        "decoder",
        ["decoder", "--config", str(tmp_path / "decoder.toml")],
        tmp_path,
        {"OMP_NUM_THREADS": "1"},
    )
    port = ports.decoder_http
    sender = None
    try:
        assert wait_until(lambda: (health(port) or {}).get("status") == "ok", 180)
        sender = Sender(f"tcp://127.0.0.1:{ports.frames}")
        now = time.time_ns()
        # made-up rigs take both slots; the real rig is refused while they are not silent
        sender.send("x", "left", 0, now)
        sender.send("y", "left", 0, now)
        assert wait_until(
            lambda: total(scrape(port), "stereo_decoder_frames_received_total") == 2, 30
        )
        sender.send("r", "left", 0, now)
        refused = "stereo_decoder_malformed_messages_total"
        assert wait_until(lambda: total(scrape(port), refused, reason="too_many_rigs") == 1, 30)
        time.sleep(2.5)  # x and y fall silent: their slots go to the real rig
        for seq in range(1, 21):
            capture = time.time_ns()
            # the right camera's clock jumps 30 s ahead for seqs 8-12, then comes back
            jump = 30 * SECOND if 8 <= seq <= 12 else 0
            sender.send("r", "left", seq, capture)
            sender.send("r", "right", seq, capture + jump)
            time.sleep(0.2)
        decoded = "stereo_decoder_frames_decoded_total"
        assert wait_until(lambda: total(scrape(port), decoded, rig="r") >= 40, 120), scrape(port)
        samples = scrape(port)
        assert total(samples, "stereo_decoder_rig_slots_released_total") >= 1
        # a released rig's series are gone from /metrics (the stop line below still counts it)
        rigs = {dict(labels).get("rig") for _, labels in samples} - {None}
        assert "r" in rigs and len(rigs) <= 2, rigs
        assert total(samples, "stereo_decoder_pairs_total", rig="r") >= 10  # pairs before and after
        unpaired = "stereo_decoder_unpaired_frames_total"
        assert total(samples, unpaired, rig="r", side="right") >= 5  # the jumped frames
        assert _balanced(samples)
    finally:
        if sender is not None:
            sender.close()
        code = stop(decoder, 60.0, signal.SIGTERM)
    assert code == 0
    log = (tmp_path / "decoder.log").read_text()
    line = re.findall(r"decoder stopped: (.*)$", log, re.M)[-1]
    counts = {k: int(v) for k, v in (kv.split("=") for kv in line.split())}
    dropped = sum(v for k, v in counts.items() if k.startswith("dropped_"))
    assert counts["received"] == 42 and counts["received"] == counts["decoded"] + dropped
    assert counts["refused_too_many_rigs"] == 1
