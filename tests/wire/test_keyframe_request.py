"""Keyframe requests (``pipeline/wire/keyframe_request.py``): round trip and every refusal."""

from __future__ import annotations

import msgpack
import pytest
import zmq

from pipeline.wire import (
    MAX_REQUEST_BYTES,
    KeyframeRequest,
    MalformedMessageError,
    UnsupportedVersionError,
    decode_request,
    encode_request,
    request_topic,
)

REQUEST = KeyframeRequest("rig0", "left", 0x1234_5678_9ABC_DEF0, 31)


def body(**changes: object) -> dict:
    """The map of :data:`REQUEST`; ``changes`` replace (or add) keys."""
    fields = {"rig_id": "rig0", "side": "left", "stream_id": REQUEST.stream_id, "packet": 31}
    return {"version": 1, **fields} | changes


def parts(mapping: dict, topic: bytes = b"rig0/left") -> list[bytes]:
    return [topic, msgpack.packb(mapping, use_bin_type=True)]


ROUND_TRIPS = [
    REQUEST,
    KeyframeRequest("a" * 64, "right", 2**63 - 1, 2**63 - 1),
    KeyframeRequest("r.1:x+y-z", "left", 0, 0),
]


@pytest.mark.parametrize("request_", ROUND_TRIPS)
def test_a_request_round_trips(request_: KeyframeRequest):
    encoded = encode_request(request_)
    assert encoded[0] == request_topic(request_.rig_id, request_.side)
    assert len(encoded[1]) <= MAX_REQUEST_BYTES
    assert decode_request(encoded) == request_


def test_a_request_round_trips_over_pub_sub_to_its_own_camera_only():
    ctx = zmq.Context()
    pub, left, other = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB), ctx.socket(zmq.SUB)
    try:
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        for sub, topic in ((left, request_topic("rig0", "left")), (other, b"rig0/right")):
            sub.setsockopt(zmq.SUBSCRIBE, topic)
            sub.connect(f"tcp://127.0.0.1:{port}")
        for _ in range(100):  # a subscription takes a moment to reach the publisher
            pub.send_multipart(encode_request(KeyframeRequest("rig0x", "left", 1, 0)))
            pub.send_multipart(encode_request(REQUEST))
            if left.poll(50):
                break
        assert decode_request(left.recv_multipart(copy=False)) == REQUEST
        assert not other.poll(100)  # neither rig0/left's nor rig0x/left's reach rig0/right
        while left.poll(100):
            assert decode_request(left.recv_multipart()) == REQUEST  # never rig0x's
    finally:
        ctx.destroy(linger=0)


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ([b"rig0/left"], "2 keyframe request parts"),
        ([*parts(body()), b"x"], "2 keyframe request parts"),
        ([b"rig0/left", b"\xc1"], "not msgpack"),
        ([b"rig0/left", msgpack.packb([1, 2])], "not a map"),
        ([b"rig0/left", msgpack.packb(body(pad="x" * MAX_REQUEST_BYTES))], "bytes > 256"),
        (parts({k: v for k, v in body().items() if k != "version"}), "'version' missing"),
        (parts(body(version="1")), "'version' missing or not an int"),
        (parts(body(version=True)), "'version' missing or not an int"),
        (parts({k: v for k, v in body().items() if k != "stream_id"}), "missing: stream_id"),
        (parts(body(seq=3)), "unknown keyframe request fields: seq"),
        (parts(body(rig_id="")), "'rig_id'"),
        (parts(body(rig_id="rig/0"), b"rig/0/left"), "'rig_id'"),
        (parts(body(rig_id=7)), "'rig_id'"),
        (parts(body(side="centre"), b"rig0/centre"), "'side'"),
        (parts(body(side=None)), "'side'"),
        (parts(body(stream_id=-1)), "'stream_id' out of range"),
        (parts(body(stream_id=2**63)), "'stream_id' out of range"),
        (parts(body(stream_id=1.0)), "'stream_id' must be an int"),
        (parts(body(stream_id=False)), "'stream_id' must be an int"),
        (parts({k: v for k, v in body().items() if k != "packet"}), "missing: packet"),
        (parts(body(packet=-1)), "'packet' out of range"),
        (parts(body(packet="31")), "'packet' must be an int"),
        (parts(body(), b"rig0/right"), "topic"),
        (parts(body(), b"rig0/lef"), "topic"),
        (parts(body(), b""), "topic"),
        ([None, parts(body())[1]], "message part"),
    ],
)
def test_a_bad_request_raises_malformed(message: list, match: str):
    with pytest.raises(MalformedMessageError, match=match):
        decode_request(message)


@pytest.mark.parametrize("version", [0, 2, 2**40])
def test_a_request_of_another_version_is_unsupported(version: int):
    with pytest.raises(UnsupportedVersionError) as raised:
        decode_request(parts(body(version=version, future="key")))
    assert raised.value.version == version


@pytest.mark.parametrize(
    "fields",
    [
        ("rig 0", "left", 1, 0),
        ("rig0", "up", 1, 0),
        ("rig0", "left", -1, 0),
        ("rig0", "left", True, 0),
        ("rig0", "left", 1, 2**63),
    ],
)
def test_a_bad_request_cannot_be_built(fields: tuple):
    with pytest.raises(MalformedMessageError):
        KeyframeRequest(*fields)
