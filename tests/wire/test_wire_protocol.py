"""Wire protocol: round trip over real ZeroMQ sockets and every malformed case."""

from __future__ import annotations

import msgpack
import pytest
import zmq

from pipeline.wire import (
    MAX_HEADER_BYTES,
    SUPPORTED_VERSIONS,
    MalformedMessageError,
    ProtocolError,
    UnsupportedVersionError,
    decode_frame,
    encode_frame,
)
from tests.wire.headers import header_map, make_header, stream_header_map


def parts_of(mapping: dict, payload: bytes = b"bits") -> list[bytes]:
    return [msgpack.packb(mapping, use_bin_type=True), payload]


def test_round_trip_bytes() -> None:
    header = make_header()
    got, payload = decode_frame(encode_frame(header, b"\x00\x01payload"))
    assert got == header
    assert payload == b"\x00\x01payload"


def test_round_trip_over_zmq_without_copy() -> None:
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    try:
        header = make_header(side="right", seq=123)
        payload = bytes(range(256)) * 10
        push.send_multipart(encode_frame(header, payload), copy=False)
        assert pull.poll(5000)
        got, got_payload = decode_frame(pull.recv_multipart(copy=False))
        assert got == header
        assert got_payload == payload
    finally:
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()


@pytest.mark.parametrize(
    "frames",
    [
        [],
        [b"only-one"],
        [msgpack.packb({"version": 1}), b"x", b"extra"],
    ],
)
def test_wrong_number_of_parts(frames: list[bytes]) -> None:
    with pytest.raises(MalformedMessageError, match="2 message parts"):
        decode_frame(frames)


@pytest.mark.parametrize("header", [b"\xc1\xc1 not msgpack", b"", b"\x92\x01"])
def test_not_msgpack_or_truncated(header: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        decode_frame([header, b"bits"])


def test_trailing_bytes_after_header() -> None:
    packed = msgpack.packb(header_map()) + b"\x00"
    with pytest.raises(MalformedMessageError, match="not msgpack"):
        decode_frame([packed, b"bits"])


def test_header_not_a_map() -> None:
    with pytest.raises(MalformedMessageError, match="not a map"):
        decode_frame([msgpack.packb([1, 2, 3]), b"bits"])


def test_oversized_header_rejected_before_unpacking() -> None:
    big = header_map(rig_id="r" * 64)
    big["padding"] = "x" * MAX_HEADER_BYTES
    with pytest.raises(MalformedMessageError, match="header of"):
        decode_frame(parts_of(big))


def test_empty_payload() -> None:
    with pytest.raises(MalformedMessageError, match="empty bitstream"):
        decode_frame(parts_of(header_map(), b""))


@pytest.mark.parametrize("version", [0, 3, 999])
def test_unknown_version(version: int) -> None:
    with pytest.raises(UnsupportedVersionError) as info:
        decode_frame(parts_of(header_map(version=version)))
    assert info.value.version == version
    assert isinstance(info.value, ProtocolError)


@pytest.mark.parametrize("version", ["1", 1.0, True, None])
def test_version_of_wrong_type(version: object) -> None:
    with pytest.raises(MalformedMessageError, match="version"):
        decode_frame(parts_of(header_map(version=version)))


@pytest.mark.parametrize(
    ("version", "missing"),
    [(1, key) for key in ("rig_id", "seq", "capture_ns", "channels")]
    + [(2, key) for key in ("rig_id", "codec", "id", "packet", "keyframe")],
)
def test_missing_field(version: int, missing: str) -> None:
    """Every header key is required, and in version 2 every key of its ``stream`` map."""
    mapping = header_map() if version == 1 else stream_header_map()
    fields = mapping["stream"] if missing in mapping.get("stream", {}) else mapping
    del fields[missing]
    with pytest.raises(MalformedMessageError, match=f"fields missing: {missing}"):
        decode_frame(parts_of(mapping))


def test_unknown_field() -> None:
    with pytest.raises(MalformedMessageError, match="unknown header fields: colour"):
        decode_frame(parts_of(header_map(colour="red")))


def test_non_string_map_key() -> None:
    mapping = {**header_map()}
    packed = msgpack.packb({**mapping, 5: 1}, strict_types=False)
    with pytest.raises(MalformedMessageError):
        decode_frame([packed, b"bits"])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rig_id", 5),
        ("rig_id", ""),
        ("rig_id", "has space"),
        ("side", "center"),
        ("side", b"left"),
        ("seq", -1),
        ("seq", 1.5),
        ("seq", True),
        ("seq", "7"),
        ("capture_ns", -5),
        ("send_ns", None),
        ("model_id", ""),
        ("quality", 256),
        ("quality", -1),
        ("height", 0),
        ("width", 70000),
        ("channels", 2),
        ("channels", True),
    ],
)
def test_wrong_type_or_range(key: str, value: object) -> None:
    with pytest.raises(MalformedMessageError, match=key):
        decode_frame(parts_of(header_map(**{key: value})))


def test_sender_cannot_build_bad_header() -> None:
    with pytest.raises(MalformedMessageError, match="side"):
        make_header(side="middle")
    with pytest.raises(UnsupportedVersionError):
        make_header(version=max(SUPPORTED_VERSIONS) + 1)


def test_non_buffer_part() -> None:
    with pytest.raises(MalformedMessageError, match="message part"):
        decode_frame([msgpack.packb(header_map()), 12345])
