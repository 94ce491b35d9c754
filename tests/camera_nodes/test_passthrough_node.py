"""Issue 29's pass-through test: a real H.264 file, made here with PyAV, streamed by a real
camera node process into a PULL socket this test binds. Every packet's payload arrives as the
file holds it, nothing is re-encoded, and the frames decode like the file itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from camera_nodes.config import PassthroughSourceConfig
from camera_nodes.sources import EndOfStream, PassthroughSource
from pipeline.codec.api import Role
from pipeline.codec.bitstream.container import parse
from pipeline.codec.weights import named_hash
from tests.camera_nodes.coded_files import FRAMES, GOP, demuxed, direct_decode, write_stream
from tests.camera_nodes.video_messages import decode_stream, receive_all
from tests.integration.configs import camera_toml

REPO = Path(__file__).resolve().parents[2]
NOMINAL_CRF = 23


def forward(tmp_path: Path, endpoint: str, movie: Path, side: str = "right", **keys) -> str:
    """Run a pass-through camera process on ``movie`` to its end; returns its log."""
    source = {"type": "passthrough", "url": str(movie), "codec": "h264", "realtime": False,
              "quality": NOMINAL_CRF}  # fmt: skip
    text = camera_toml(
        "prig", side, endpoint, source, codec="h264", fps=0.0, flush_s=10.0, metrics_port=0,
        send_queue=FRAMES, **keys,
    )  # fmt: skip
    (tmp_path / "camera.toml").write_text(text)
    cmd = [sys.executable, "-m", "camera_nodes.cli", "--config", str(tmp_path / "camera.toml")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


def forwarded_by_the_source(movie: Path) -> list[bytes]:
    """The Annex B packets the pass-through source hands out for ``movie``."""
    config = PassthroughSourceConfig(url=str(movie), realtime=False)
    packets = []
    with PassthroughSource(config) as source, pytest.raises(EndOfStream):
        while True:
            packets.append(source.read().packet.data)
    return packets


@pytest.mark.parametrize("kind", ["h264", "mp4"])
def test_a_camera_process_passes_a_files_packets_through_unchanged(pull, tmp_path, kind):
    sock, endpoint = pull
    movie = write_stream(tmp_path / f"cam.{kind}")
    log = forward(tmp_path, endpoint, movie)
    messages = receive_all(sock, first_timeout_ms=5000)
    assert len(messages) == FRAMES
    payloads = [parse(payload).strings for _, payload in messages]
    assert all(len(strings) == 1 for strings in payloads)
    if kind == "h264":  # an Annex B file: the packets as stored, byte for byte
        assert [s[0] for s in payloads] == [data for _, data in demuxed(movie)[1]]
    else:  # MP4: its packets as Annex B, parameter sets on keyframes (the source's filter)
        assert [s[0] for s in payloads] == forwarded_by_the_source(movie)
    # nothing encoded: no encoder opened, the encoded counter stayed 0
    assert f"prig/right stopped: captured={FRAMES} encoded=0 sent={FRAMES} " in log
    assert f"keyframes_sent={-(-FRAMES // GOP)} " in log
    assert "passing h264 packets through as h264-si2: no encoder runs" in log
    assert "h264 encoder" not in log
    stream_ids = {header.stream.id for header, _ in messages}
    assert len(stream_ids) == 1
    times = [header.capture_ns for header, _ in messages]
    assert times == sorted(set(times))
    for i, (header, payload) in enumerate(messages):
        bits = parse(payload).header
        assert (header.version, header.seq, header.stream.packet) == (2, i, i)
        assert header.stream.keyframe == (i % GOP == 0)
        assert header.model_id == bits.model_id == "h264-si2"
        assert header.quality == bits.quality == 100 - NOMINAL_CRF
        assert bits.weights_hash == named_hash("si-std2") and bits.role == Role.SIDE
        assert (header.height, header.width, header.channels) == (96, 128, 3)
        assert (bits.height, bits.width, bits.channels) == (96, 128, 3)
    images = decode_stream("h264", messages)
    expected = direct_decode(movie)
    assert len(images) == len(expected) == FRAMES
    for image, reference in zip(images, expected, strict=True):
        np.testing.assert_array_equal(image, reference)


def test_frames_stops_a_passthrough_camera_after_that_many_packets(pull, tmp_path):
    sock, endpoint = pull
    log = forward(tmp_path, endpoint, write_stream(tmp_path / "cam.h264"), side="left", frames=7)
    messages = receive_all(sock, first_timeout_ms=5000)
    assert [h.stream.packet for h, _ in messages] == list(range(7))
    assert "captured=7 encoded=0 sent=7 keyframes_sent=1 " in log
    assert all(parse(payload).header.role == Role.PRIMARY for _, payload in messages)
