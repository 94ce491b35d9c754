"""Sinks: atomic PNG writes and layout, ZeroMQ republish, timing records, failure counting."""

from __future__ import annotations

import json
import os
import time

import cv2
import msgpack
import numpy as np
import pytest
import zmq

from decoder_node.config import PngSinkConfig, TimingSinkConfig, ZmqSinkConfig
from decoder_node.frames import DecodedItem, StereoItem
from decoder_node.sinks import PngSink, SinkSet, TimingSink, ZmqPubSink, write_png_atomic
from decoder_node.sinks.base import Sink

pytestmark = pytest.mark.timeout(60)


def decoded(make_frame, seq=3, right=True) -> DecodedItem:
    item = StereoItem(
        "rig0", make_frame("left", seq), make_frame("right", seq) if right else None, 0.0
    )
    rng = np.random.default_rng(seq)
    img = lambda: rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)  # noqa: E731
    return DecodedItem(item, img(), img(), img() if right else None, {"queue": 0.01})


def test_write_png_atomic_round_trips_rgb_and_leaves_no_temp_file(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    path = tmp_path / "a" / "b.png"
    write_png_atomic(path, image)
    back = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, image)
    assert os.listdir(path.parent) == ["b.png"]


def test_write_png_atomic_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "x.png"
    first = np.zeros((4, 4, 3), np.uint8)
    write_png_atomic(path, first)
    before = path.read_bytes()

    def fail(*_args, **_kw):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_png_atomic(path, np.full((4, 4, 3), 255, np.uint8))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.png"]


def test_png_sink_layout_with_and_without_left_alone(tmp_path, make_frame):
    for left_alone, root in ((True, tmp_path / "a"), (False, tmp_path / "b")):
        sink = PngSink(PngSinkConfig(type="png", dir=root, left_alone=left_alone))
        sink.open()
        d = decoded(make_frame, seq=12)
        sink.write(d)
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*.png"))
        expected = ["rig0/left/000012.png", "rig0/right/000012.png"]
        if left_alone:
            expected.insert(1, "rig0/left_alone/000012.png")
        assert files == expected
        back = cv2.cvtColor(cv2.imread(str(root / "rig0/left/000012.png")), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(back, d.left)


def test_zmq_sink_republishes_header_and_pixels(make_frame):
    ctx = zmq.Context()
    try:
        sink = ZmqPubSink(ZmqSinkConfig(type="zmq", bind="tcp://127.0.0.1:*"), ctx)
        sink.open()
        endpoint = sink._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVTIMEO, 200)
        sub.connect(endpoint)
        d = decoded(make_frame)
        received = []
        for _ in range(25):  # PUB/SUB joins asynchronously: publish until the subscriber hears
            sink.write(d)
            try:
                received.append(sub.recv_multipart())
                received.append(sub.recv_multipart())
                break
            except zmq.Again:
                continue
        header = msgpack.unpackb(received[0][0])
        assert header["view"] == "left" and header["with_si"] is True and header["seq"] == 3
        pixels = np.frombuffer(received[0][1], np.uint8).reshape(16, 24, 3)
        np.testing.assert_array_equal(pixels, d.left)
        assert msgpack.unpackb(received[1][0])["view"] == "right"
        sub.close(linger=0)
        sink.close()
    finally:
        ctx.term()


def test_zmq_sink_disconnects_a_subscriber_that_sends_more_than_a_subscription(make_frame):
    """MAXMSGSIZE on the PUB socket: a 64 KiB subscription ends that subscriber's connection
    (before the fix the sink buffered it, and served the subscriber); a plain one is served."""
    ctx = zmq.Context()
    try:
        sink = ZmqPubSink(ZmqSinkConfig(type="zmq", bind="tcp://127.0.0.1:*"), ctx)
        sink.open()
        endpoint = sink._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        subs = {}
        for name, topic in (("plain", b""), ("huge", b"x" * 65536)):
            sub = subs[name] = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, topic)
            sub.setsockopt(zmq.SUBSCRIBE, b"")  # would receive everything, if it stayed
            sub.setsockopt(zmq.RECONNECT_IVL, 60_000)  # no second try within the test
            sub.connect(endpoint)
        heard = {name: 0 for name in subs}
        for _ in range(30):
            sink.write(decoded(make_frame))
            time.sleep(0.1)
            for name, sub in subs.items():
                while sub.poll(0):
                    sub.recv_multipart()
                    heard[name] += 1
        assert heard["plain"] > 0 and heard["huge"] == 0, heard
        sink.close()
    finally:
        ctx.destroy(linger=0)


def test_timing_sink_writes_one_record_per_view_after_the_outputs(tmp_path, make_frame, registry):
    path = tmp_path / "t.jsonl"
    sinks = SinkSet([TimingSink(TimingSinkConfig(type="timing", path=path))], registry)
    sinks.open()
    sinks.write(decoded(make_frame, seq=5))
    sinks.write(decoded(make_frame, seq=6, right=False))
    sinks.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    written = [(r["side"], r["seq"], r["paired"]) for r in records]
    assert written == [("left", 5, True), ("right", 5, True), ("left", 6, False)]
    assert all(r["end_to_end"] > 0 and "sink" in r and r["queue"] == 0.01 for r in records)


class Exploding(Sink):
    name = "exploding"

    def __init__(self) -> None:
        self.calls = 0

    def write(self, decoded: DecodedItem) -> None:
        self.calls += 1
        raise OSError("no space left")


def test_a_failing_sink_is_counted_and_the_others_still_write(
    tmp_path, make_frame, registry, metric
):
    bad = Exploding()
    good = PngSink(PngSinkConfig(type="png", dir=tmp_path))
    sinks = SinkSet([bad, good], registry)
    sinks.open()
    sinks.write(decoded(make_frame, seq=1))
    sinks.write(decoded(make_frame, seq=2))
    assert bad.calls == 2
    assert metric("stereo_decoder_sink_errors_total", sink="exploding") == 2
    assert len(list(tmp_path.rglob("*.png"))) == 4
    assert metric("stereo_decoder_end_to_end_latency_seconds_count", side="left") == 2
