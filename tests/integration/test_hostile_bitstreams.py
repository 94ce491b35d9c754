"""Hostile bitstreams against a real decoder process: counted, dropped, never a crash.

A container with a valid CRC may declare any shape up to 65535x65535, and a sub-stream may be
empty or shorter than its symbols need. Before the limits and the bounds-checked rANS decoder,
one such message of under 2 KB made the daemon allocate gigabytes or read past its buffer
(SIGSEGV). Here each is sent over a real PUSH socket; the daemon counts it as a bad bitstream,
keeps its memory bounded, and decodes the valid pair that follows.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from pipeline.codec import ImageEncoder, Role
from pipeline.codec.bitstream.container import Bitstream, parse
from pipeline.wire import PROTOCOL_VERSION, FrameHeader, encode_frame
from stereo_app.demo.processes import health, scrape, spawn, stop, total, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.configs import cpu_decoder_toml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

DROPPED = "stereo_decoder_frames_dropped_total"
DECODED = "stereo_decoder_frames_decoded_total"
#: Peak resident memory allowed to the daemon: torch and the model take about 0.5 GB; a
#: 65535x65535 image would take gigabytes.
MAX_PEAK_RSS_MB = 1500


def _config(frames: int, http: int) -> str:
    return cpu_decoder_toml(frames, http, pairing='mode = "sequence"\nmax_age_ms = 2000.0')


def _image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return np.kron(base, np.ones((8, 8, 1), np.uint8))


def _with(data: bytes, **changes) -> bytes:
    """``data`` re-serialised (fresh CRC) with header fields or strings changed."""
    bits = parse(data)
    strings = changes.pop("strings", bits.strings)
    return Bitstream(dataclasses.replace(bits.header, **changes), strings).to_bytes()


def _message(side: str, seq: int, payload: bytes, shape: tuple[int, int]) -> list:
    now = time.time_ns()
    header = FrameHeader(
        PROTOCOL_VERSION, "evil", side, seq, now, now, "dsin-s1", 4, shape[0], shape[1], 3
    )
    return encode_frame(header, payload)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def test_hostile_bitstreams_are_counted_and_the_next_pair_decodes(tmp_path: Path) -> None:
    ports = pick_ports()
    (tmp_path / "decoder.toml").write_text(_config(ports.frames, ports.decoder_http))
    encoder = ImageEncoder()
    left = encoder.encode(_image(1), Role.PRIMARY, 4)
    right = encoder.encode(_image(2), Role.SIDE, 4)
    huge = _with(left, height=65535, width=65535, strings=(b"\0" * 8,) * 5)
    empty_y = _with(left, strings=(parse(left).strings[0], b"", *parse(left).strings[2:]))
    short_y = _with(left, strings=(parse(left).strings[0], parse(left).strings[1][:8],
                                   *parse(left).strings[2:]))  # fmt: skip
    hostile = [
        ("left", 0, huge, (65535, 65535)),  # the wire header agrees with the container
        ("right", 0, _with(huge, role=Role.SIDE), (64, 64)),  # only the container is huge
        ("left", 1, empty_y, (64, 64)),
        ("left", 2, short_y, (64, 64)),
    ]
    decoder = spawn("decoder", ["decoder", "--config", str(tmp_path / "decoder.toml")],
                    tmp_path / "logs", {"OMP_NUM_THREADS": "1"})  # fmt: skip
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    try:
        port = ports.decoder_http
        assert wait_until(lambda: (health(port) or {}).get("status") == "ok", 180)
        push.connect(f"tcp://127.0.0.1:{ports.frames}")
        for side, seq, payload, shape in hostile:
            push.send_multipart(_message(side, seq, payload, shape))
        push.send_multipart(_message("right", 1, right, (64, 64)))
        push.send_multipart(_message("right", 2, right, (64, 64)))
        for side, payload in (("left", left), ("right", right)):
            push.send_multipart(_message(side, 3, payload, (64, 64)))

        def decoded() -> float:
            return total(scrape(port), DECODED, rig="evil")

        # seq 1 and 2: the right view decodes alone after its left is dropped; seq 3: both.
        assert wait_until(lambda: decoded() >= 4, 120), scrape(port)
        samples = scrape(port)
        assert total(samples, DROPPED, rig="evil", reason="bad_bitstream") == 4
        assert total(samples, DROPPED, rig="evil") == 4
        assert total(samples, DECODED, rig="evil", side="left") == 1
        assert total(samples, DECODED, rig="evil", side="right") == 3
        assert decoder.poll() is None
        assert _peak_rss_mb(decoder.proc.pid) < MAX_PEAK_RSS_MB
    finally:
        push.close(linger=0)
        context.term()
        assert stop(decoder, 60.0) == 0
