"""The receiver: malformed messages, unknown versions and bad bitstreams are counted, not fatal."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import msgpack
import pytest
import zmq

from decoder_node.config import PairingConfig, ReceiverConfig
from decoder_node.pairing import Pairer
from decoder_node.receiver import Receiver
from pipeline.wire import encode_frame
from tests.wire.headers import make_stream_header

pytestmark = pytest.mark.timeout(60)


def make_receiver(registry, drops, ctx, **kw):
    items = []
    pairer = Pairer(PairingConfig(mode="sequence"), drops, registry)
    cfg = ReceiverConfig(**{"bind": "tcp://127.0.0.1:*", **kw})
    return Receiver(cfg, pairer, items.append, drops, registry, ctx), items


def parts(frame, payload=None, **header_changes):
    header = replace(frame.header, **header_changes) if header_changes else frame.header
    return encode_frame(header, payload if payload is not None else frame.payload)


def test_good_left_and_right_make_a_pair(registry, drops, make_frame, metric):
    rx, items = make_receiver(registry, drops, zmq.Context.instance())
    rx.handle(parts(make_frame("left", 1)), 0, 0.0)
    rx.handle(parts(make_frame("right", 1)), 0, 0.0)
    assert [(i.left.seq, i.right.seq) for i in items] == [(1, 1)]
    assert metric("stereo_decoder_frames_received_total", rig="rig0", side="left") == 1
    assert metric("stereo_decoder_bits_per_pixel_count", side="right") == 1


def test_every_kind_of_bad_message_is_counted_with_its_reason(
    registry, drops, make_frame, make_bitstream, metric
):
    rx, items = make_receiver(registry, drops, zmq.Context.instance())
    good = make_frame("left", 1)
    header = msgpack.packb({**good.header.__dict__, "version": 9})
    rx.handle([b"only one part"], 0, 0.0)
    rx.handle([b"\xc1not msgpack", good.payload], 0, 0.0)
    rx.handle([msgpack.packb([1, 2]), good.payload], 0, 0.0)
    rx.handle([header, good.payload], 0, 0.0)
    rx.handle(parts(good, payload=b"garbage bitstream"), 0, 0.0)
    truncated = good.payload[: len(good.payload) // 2]
    rx.handle(parts(good, payload=truncated), 0, 0.0)
    rx.handle(parts(good, height=999), 0, 0.0)
    rx.handle(parts(good, payload=make_bitstream("right")), 0, 0.0)  # role of the other side
    assert items == []
    assert metric("stereo_decoder_malformed_messages_total", reason="malformed") == 3
    assert metric("stereo_decoder_malformed_messages_total", reason="unsupported_version") == 1
    left = {"rig": "rig0", "side": "left"}
    assert metric("stereo_decoder_frames_dropped_total", **left, reason="bad_bitstream") == 2
    assert metric("stereo_decoder_frames_dropped_total", **left, reason="header_mismatch") == 2
    assert metric("stereo_decoder_frames_received_total", **left) == 4


def test_rigs_beyond_max_rigs_are_refused(registry, drops, make_frame, metric):
    rx, _ = make_receiver(registry, drops, zmq.Context.instance(), max_rigs=2)
    for rig in ("a", "b", "c", "a"):
        rx.handle(parts(make_frame("left", 1, rig=rig)), 0, 0.0)
    assert metric("stereo_decoder_malformed_messages_total", reason="too_many_rigs") == 1
    assert metric("stereo_decoder_frames_received_total", rig="c", side="left") == 0


def test_a_silent_rig_gives_its_slot_to_a_new_one(registry, drops, make_frame, metric):
    rx, _ = make_receiver(registry, drops, zmq.Context.instance(), max_rigs=2, rig_idle_s=60.0)
    rx.handle(parts(make_frame("left", 1, rig="a")), 0, 0.0)
    rx.handle(parts(make_frame("left", 1, rig="b")), 0, 50.0)
    rx.handle(parts(make_frame("left", 1, rig="c")), 0, 59.0)  # a silent 59 s: refused
    assert metric("stereo_decoder_malformed_messages_total", reason="too_many_rigs") == 1
    rx.handle(parts(make_frame("left", 2, rig="c")), 0, 61.0)  # a silent 61 s: c takes its slot
    assert metric("stereo_decoder_frames_received_total", rig="c", side="left") == 1
    assert metric("stereo_decoder_rig_slots_released_total") == 1
    rx.handle(parts(make_frame("left", 2, rig="b")), 0, 62.0)  # b keeps its own slot
    rx.handle(parts(make_frame("left", 3, rig="a")), 0, 63.0)  # a comes back: all taken again
    assert metric("stereo_decoder_malformed_messages_total", reason="too_many_rigs") == 2


def test_receive_loop_over_a_real_socket_survives_garbage(registry, drops, make_frame, metric):
    ctx = zmq.Context()
    rx, items = make_receiver(registry, drops, ctx, poll_ms=5.0)
    rx.open()
    stop = threading.Event()
    thread = threading.Thread(target=rx.run, args=(stop,))
    thread.start()
    push = ctx.socket(zmq.PUSH)
    push.connect(rx.endpoint)
    try:
        push.send_multipart([b"\x00" * 3, b"", b"x"])
        push.send(b"")
        push.send_multipart(parts(make_frame("left", 2)), copy=False)
        push.send_multipart(parts(make_frame("right", 2)), copy=False)
        deadline = time.monotonic() + 5.0
        while not items and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(i.left.seq, i.right.seq) for i in items] == [(2, 2)]
        assert metric("stereo_decoder_malformed_messages_total", reason="malformed") == 2
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(2.0)
        push.close(linger=0)
        rx.close()
        ctx.term()
    assert not thread.is_alive()


def test_waiting_frames_expire_in_the_receive_loop(registry, drops, make_frame):
    ctx = zmq.Context()
    items = []
    pairer = Pairer(PairingConfig(mode="sequence", max_age_ms=30.0), drops, registry)
    cfg = ReceiverConfig(bind="tcp://127.0.0.1:*", poll_ms=5.0)
    rx = Receiver(cfg, pairer, items.append, drops, registry, ctx)
    rx.open()
    stop = threading.Event()
    thread = threading.Thread(target=rx.run, args=(stop,))
    thread.start()
    try:
        rx_frame = make_frame("left", 4)
        push = ctx.socket(zmq.PUSH)
        push.connect(rx.endpoint)
        push.send_multipart(parts(rx_frame))
        deadline = time.monotonic() + 5.0
        while not items and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(i.left.seq, i.right) for i in items] == [(4, None)]
        push.close(linger=0)
    finally:
        stop.set()
        thread.join(2.0)
        rx.close()
        ctx.term()


def test_a_video_stream_message_is_taken_and_its_bad_container_counted(
    registry, drops, make_frame, metric
):
    rx, items = make_receiver(registry, drops, zmq.Context.instance())
    video = make_stream_header(rig_id="rig0", side="left")
    rx.handle(encode_frame(video, b"\x00\x00\x00\x01\x65"), 0, 0.0)
    assert items == []
    assert metric("stereo_decoder_malformed_messages_total", reason="unsupported_version") == 0
    assert metric("stereo_decoder_frames_received_total", rig="rig0", side="left") == 1
    left = {"rig": "rig0", "side": "left"}
    assert metric("stereo_decoder_frames_dropped_total", **left, reason="bad_bitstream") == 1
