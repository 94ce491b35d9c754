"""Video streams decoded at receive: once, in order, per (rig, side), whatever happens later."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import av
import numpy as np
import pytest
import zmq

from decoder_node.batching import DynamicBatcher
from decoder_node.config import BatchingConfig, PairingConfig, ReceiverConfig
from decoder_node.pairing import Pairer
from decoder_node.receiver import Receiver
from decoder_node.streams import StreamDecoders
from pipeline.codec import Role
from pipeline.codec.bitstream.container import container, parse
from pipeline.codec.video import VideoStreamDecoder
from pipeline.wire import StreamInfo, encode_frame
from tests.decoder_node.conftest import bitstream
from tests.decoder_node.video_camera import (
    VideoCamera,
    VideoMessage,
    corrupt,
    direct_decode,
    received,
)

pytestmark = pytest.mark.timeout(60)

LEFT = {"rig": "rig0", "side": "left"}


class Rx:
    """A receiver with a sequence pairer, its released items, and its metrics."""

    def __init__(self, registry, drops, emit=None, **cfg) -> None:
        self.items: list = []
        self.pairer = Pairer(PairingConfig(mode="sequence"), drops, registry)
        config = ReceiverConfig(**{"bind": "tcp://127.0.0.1:*", "poll_ms": 5.0, **cfg})
        self.receiver = Receiver(
            config, self.pairer, emit or self.items.append, drops, registry, zmq.Context()
        )
        self._registry = registry

    def send(self, messages: list[VideoMessage], now: float = 0.0) -> None:
        for message in messages:
            self.receiver.handle(message.parts, 0, now)

    def pixels(self, side: str = "left") -> dict[int, np.ndarray]:
        """seq -> pixels of every frame of ``side`` released so far (waiting ones released)."""
        self.items += self.pairer.expire(math.inf)
        return {f.seq: f.pixels for i in self.items for f in i.frames if f.side == side}

    def metric(self, name: str, **labels: str) -> float:
        return self._registry.get_sample_value(f"stereo_decoder_{name}", labels) or 0.0

    def dropped(self, reason: str, rig: str = "rig0", side: str = "left") -> float:
        return self.metric("frames_dropped_total", rig=rig, side=side, reason=reason)


def assert_same(got: dict[int, np.ndarray], messages: list[VideoMessage], expected) -> None:
    """``got`` holds, for every message whose ``expected`` image is not None, exactly it."""
    want = {m.header.seq: e for m, e in zip(messages, expected, strict=True) if e is not None}
    assert sorted(got) == sorted(want)
    for seq, image in want.items():
        np.testing.assert_array_equal(got[seq], image, err_msg=f"seq {seq}")


def test_frames_over_a_real_socket_carry_the_pixels_of_a_direct_decode(registry, drops):
    rx = Rx(registry, drops)
    left, right = VideoCamera("left").take(9), VideoCamera("right", seed=1).take(9)
    ctx = zmq.Context()
    rx.receiver.open()
    stop = threading.Event()
    thread = threading.Thread(target=rx.receiver.run, args=(stop,))
    thread.start()
    push = ctx.socket(zmq.PUSH)
    push.connect(rx.receiver.endpoint)
    try:
        for pair in zip(left, right, strict=True):
            for message in pair:
                push.send_multipart(message.parts)
        deadline = time.monotonic() + 10.0
        while len(rx.items) < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(5.0)
        push.close(linger=0)
        rx.receiver.close()
        ctx.term()
    assert [(i.left.seq, i.right.seq) for i in rx.items] == [(s, s) for s in range(9)]
    assert_same(rx.pixels("left"), left, direct_decode(left))
    assert_same(rx.pixels("right"), right, direct_decode(right))
    assert rx.metric("keyframes_received_total", **LEFT) == 3
    assert rx.metric("stream_decode_seconds_count", codec="h264") == 18
    assert rx.metric("video_streams_open") == 2
    assert all(i.left.stream_s > 0 for i in rx.items)


def test_a_lost_packet_drops_its_stream_until_the_next_keyframe(registry, drops):
    rx = Rx(registry, drops)
    messages = VideoCamera().take(9)
    arrived = [m for m in messages if m.header.seq != 1]  # lost on the wire
    rx.send(arrived[:2])
    assert rx.dropped("stream_gap") == 1
    assert rx.metric("video_streams_waiting_keyframe") == 1
    rx.send(arrived[2:])
    assert rx.dropped("waiting_keyframe") == 1  # seq 3; seq 4 is a keyframe
    assert rx.metric("video_streams_waiting_keyframe") == 0
    expected = direct_decode(arrived)
    assert [e is None for e in expected] == [False, True, True, False, False, False, False, False]
    assert_same(rx.pixels(), arrived, expected)
    assert rx.metric("frames_received_total", **LEFT) == 8


def test_a_corrupt_packet_is_counted_and_its_stream_waits_for_a_keyframe(registry, drops):
    rx = Rx(registry, drops)
    messages = VideoCamera().take(6)
    sent = [*messages[:2], corrupt(messages[2]), *messages[3:]]
    rx.send(sent)
    assert rx.dropped("corrupt_packet") == 1
    assert rx.dropped("waiting_keyframe") == 1
    assert rx.metric("video_decode_errors_total", codec="h264") == 1
    expected = [*direct_decode(messages[:2]), None, None, *direct_decode(messages[4:])]
    assert_same(rx.pixels(), sent, expected)


def test_an_error_outside_ffmpegs_bad_data_is_counted_not_raised(registry, drops, monkeypatch):
    rx = Rx(registry, drops)
    messages = VideoCamera().take(5)
    rx.send(messages[:1])

    def fail(self, data, shape):
        raise OSError("an FFmpeg error no packet should cause")

    monkeypatch.setattr(VideoStreamDecoder, "_decode", fail)
    rx.send(messages[1:2])
    monkeypatch.undo()
    rx.send(messages[2:])
    assert rx.dropped("decode_error") == 1
    assert rx.dropped("waiting_keyframe") == 2
    assert sorted(rx.pixels()) == [0, 4]


def test_a_camera_restart_decodes_from_its_new_streams_keyframe(registry, drops):
    rx = Rx(registry, drops)
    before, after = VideoCamera().take(3), VideoCamera(seed=2).take(3)
    assert before[0].header.stream.id != after[0].header.stream.id
    rx.send(before)
    first = rx.pixels()
    rx.send(after)
    assert rx.dropped("stream_gap") == rx.dropped("waiting_keyframe") == 0
    assert_same(first, before, direct_decode(before))
    assert_same(rx.pixels(), after, direct_decode(after))


def test_a_new_stream_joined_mid_way_waits_for_its_keyframe(registry, drops):
    rx = Rx(registry, drops)
    messages = VideoCamera().take(6)
    rx.send(messages[2:])  # a decoder started after the camera
    assert rx.dropped("waiting_keyframe") == 2
    assert sorted(rx.pixels()) == [4, 5]


def test_a_duplicate_dropped_by_the_pairer_leaves_the_chain_whole(registry, drops):
    rx = Rx(registry, drops)
    messages = VideoCamera().take(6)
    stamp = {"seq": 1, "capture_ns": messages[1].header.capture_ns}
    repeated = replace(messages[2], header=replace(messages[2].header, **stamp))
    rx.send([*messages[:2], repeated, *messages[3:]])
    assert rx.dropped("duplicate") == 1
    got = rx.pixels()
    assert sorted(got) == [0, 1, 3, 4, 5]
    expected = direct_decode(messages)
    np.testing.assert_array_equal(got[3], expected[3])  # decodes on top of the dropped seq 2


def test_pairs_pushed_out_of_the_backlog_leave_the_chain_whole(registry, drops):
    batcher = DynamicBatcher(BatchingConfig(max_batch=1, backlog=1), drops, registry)
    rx = Rx(registry, drops, emit=batcher.put)
    left, right = VideoCamera("left").take(6), VideoCamera("right", seed=1).take(6)
    rx.send([m for pair in zip(left, right, strict=True) for m in pair])
    assert rx.dropped("backlog_full") == 5
    (last,) = batcher.get(1.0, flush=True)
    np.testing.assert_array_equal(last.left.pixels, direct_decode(left)[5])
    np.testing.assert_array_equal(last.right.pixels, direct_decode(right)[5])


def test_a_released_rig_slot_frees_its_streams(registry, drops):
    rx = Rx(registry, drops, max_rigs=1, rig_idle_s=1.0)
    a_left, a_right = VideoCamera("left", "a").take(3), VideoCamera("right", "a").take(3)
    rx.send([*a_left[:2], *a_right[:2]], now=0.0)
    assert rx.metric("video_streams_open") == 2
    rx.send(VideoCamera("left", "b").take(1), now=5.0)  # a is silent: b takes its slot
    assert rx.metric("video_streams_open") == 1
    rx.send(a_left[2:], now=10.0)  # a's next packet: its stream was forgotten
    assert rx.dropped("waiting_keyframe", rig="a") == 1
    assert rx.metric("video_streams_open") == 1


@pytest.mark.parametrize(
    "change",
    [
        {"stream": StreamInfo("hevc", 1, 0, True)},  # a stream of another codec
        {"stream": None, "version": 1},  # a video container without its stream
    ],
)
def test_a_stream_and_its_container_must_name_the_same_codec(registry, drops, change):
    rx = Rx(registry, drops)
    message = VideoCamera().next()
    rx.receiver.handle(encode_frame(replace(message.header, **change), message.payload), 0, 0.0)
    assert rx.dropped("header_mismatch") == 1
    assert rx.metric("video_streams_open") == 0


def test_an_image_codec_container_in_a_stream_message_is_a_mismatch(registry, drops):
    rx = Rx(registry, drops)
    message = VideoCamera().next()
    header = replace(message.header, model_id="dsin-s1", quality=4, height=16, width=24)
    rx.receiver.handle(encode_frame(header, bitstream("left")), 0, 0.0)
    assert rx.dropped("header_mismatch") == 1


def test_grey_streams_decode_to_grey_pixels(registry, drops):
    rx = Rx(registry, drops)
    messages = VideoCamera(channels=1).take(2)
    rx.send(messages)
    assert_same(rx.pixels(), messages, direct_decode(messages, channels=1))
    assert rx.pixels()[0].shape == (48, 64)


def test_the_container_role_is_still_checked(registry, drops):
    rx = Rx(registry, drops)
    message = VideoCamera().next()
    parsed = parse(message.payload)
    header, strings = parsed.header, parsed.strings
    payload = container(
        message.image, header.model_id, header.weights_hash, header.quality, Role.SIDE, strings
    )
    rx.receiver.handle(encode_frame(message.header, payload), 0, 0.0)
    assert rx.dropped("header_mismatch") == 1


def test_nvdec_asked_for_falls_back_to_the_cpu_decoder_where_it_does_not_open(registry, drops):
    streams = StreamDecoders(registry, drops.rigs, hardware=True)
    messages = VideoCamera().take(3)
    frames = [received(m, None) for m in messages]
    images = [streams.decode(f, parse(f.payload).strings[0]).image for f in frames]
    for got, expected in zip(images, direct_decode(messages), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert streams.decoders() == {("rig0", "left"): "h264_cuvid" if nvdec_opens() else "h264"}


def nvdec_opens() -> bool:
    """Whether this host's FFmpeg opens NVDEC's H.264 decoder (not on the development machine)."""
    try:
        av.CodecContext.create("h264_cuvid", "r").open()
    except av.error.FFmpegError:
        return False
    return True
