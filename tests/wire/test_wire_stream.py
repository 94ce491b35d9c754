"""Protocol version 2: the ``stream`` map of video codecs, its checks, and version negotiation
(a version 1 decoder refuses it clearly; this one still reads version 1)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from pipeline.codec.video import VIDEO_CODECS
from pipeline.wire import (
    MAX_HEADER_BYTES,
    PROTOCOL_VERSION,
    STREAM_CODECS,
    STREAM_PROTOCOL_VERSION,
    MalformedMessageError,
    StreamInfo,
    UnsupportedVersionError,
    decode_frame,
    encode_frame,
    version_for,
)
from tests.wire.headers import (
    header_map,
    make_header,
    make_stream_header,
    stream_header_map,
)

V1_COMMIT = "449ca8a"
"""The last commit whose decoder reads version 1 only."""
ROOT = Path(__file__).resolve().parents[2]


def parts_of(mapping: dict, payload: bytes = b"bits") -> list[bytes]:
    return [msgpack.packb(mapping, use_bin_type=True), payload]


def with_stream(**changes: object) -> dict:
    """A version 2 header map whose ``stream`` map has ``changes``."""
    mapping = stream_header_map()
    mapping["stream"] = {**mapping["stream"], **changes}
    return mapping


@pytest.mark.parametrize("codec", STREAM_CODECS)
@pytest.mark.parametrize("keyframe", [True, False])
def test_version_2_round_trip(codec: str, keyframe: bool) -> None:
    stream = StreamInfo(codec=codec, id=2**63 - 1, packet=0, keyframe=keyframe)
    header = make_stream_header(stream=stream)
    parts = encode_frame(header, b"\x00\x00\x00\x01\x67")
    sent = {"codec": codec, "id": 2**63 - 1, "packet": 0, "keyframe": keyframe}
    assert msgpack.unpackb(parts[0])["stream"] == sent
    assert decode_frame(parts) == (header, b"\x00\x00\x00\x01\x67")
    assert len(parts[0]) < MAX_HEADER_BYTES // 3


def test_version_1_still_read_and_sent_without_stream() -> None:
    header = make_header()
    parts = encode_frame(header, b"x")
    assert "stream" not in msgpack.unpackb(parts[0])
    assert decode_frame(parts)[0] == header
    assert decode_frame(parts)[0].stream is None


def test_version_follows_the_stream() -> None:
    assert version_for(None) == PROTOCOL_VERSION == 1
    assert version_for(make_stream_header().stream) == STREAM_PROTOCOL_VERSION == 2


def test_stream_codecs_are_the_video_codecs() -> None:
    assert STREAM_CODECS == VIDEO_CODECS


def test_version_and_stream_must_agree() -> None:
    with pytest.raises(MalformedMessageError, match="fields missing: stream"):
        decode_frame(parts_of({**header_map(), "version": STREAM_PROTOCOL_VERSION}))
    with pytest.raises(MalformedMessageError, match="unknown header fields: stream"):
        decode_frame(parts_of({**stream_header_map(), "version": PROTOCOL_VERSION}))
    with pytest.raises(MalformedMessageError, match="version 2 header has no stream"):
        make_header(version=STREAM_PROTOCOL_VERSION)
    with pytest.raises(MalformedMessageError, match="version 1 header has a stream"):
        make_stream_header(version=PROTOCOL_VERSION)


@pytest.mark.parametrize("stream", [None, 5, "h264", [1, 2], b"map"])
def test_stream_not_a_map(stream: object) -> None:
    with pytest.raises(MalformedMessageError, match="'stream'"):
        decode_frame(parts_of(stream_header_map(stream=stream)))


def test_unknown_stream_key() -> None:
    with pytest.raises(MalformedMessageError, match="unknown stream fields: pts"):
        decode_frame(parts_of(with_stream(pts=3)))
    mapping = with_stream()
    mapping["stream"][b"id"] = 1  # a byte-string key is not the string key
    with pytest.raises(MalformedMessageError, match="unknown stream fields"):
        decode_frame(parts_of(mapping))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("codec", "mjpeg"),
        ("codec", "H264"),
        ("codec", b"h264"),
        ("codec", None),
        ("id", -1),
        ("id", 2**63),
        ("id", 1.0),
        ("id", True),
        ("packet", -1),
        ("packet", "3"),
        ("packet", False),
        ("keyframe", 1),
        ("keyframe", 0),
        ("keyframe", "true"),
        ("keyframe", None),
    ],
)
def test_stream_field_of_wrong_type_or_range(key: str, value: object) -> None:
    with pytest.raises(MalformedMessageError, match=f"stream.{key}"):
        decode_frame(parts_of(with_stream(**{key: value})))


def test_version_2_checks_the_version_1_fields_too() -> None:
    with pytest.raises(MalformedMessageError, match="side"):
        decode_frame(parts_of(stream_header_map(side="middle")))


@pytest.fixture
def v1_decoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``pipeline/wire/protocol.py`` as of :data:`V1_COMMIT`, imported as a module."""
    command = ["git", "show", f"{V1_COMMIT}:pipeline/wire/protocol.py"]
    try:
        run = subprocess.run(command, cwd=ROOT, capture_output=True, check=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"no git history with {V1_COMMIT} here: {e}")
    path = tmp_path / "wire_protocol_v1.py"
    path.write_text(run.stdout)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, path.stem, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_version_1_decoder_refuses_version_2_clearly(v1_decoder) -> None:
    """Today's deployed decoders (the code of 449ca8a) count a video camera's message as
    ``unsupported_version``, never as a crash or a malformed header: so decoders are upgraded
    first (docs/protocol.md)."""
    old = v1_decoder
    assert old.PROTOCOL_VERSION == 1
    parts = encode_frame(make_stream_header(), b"\x00\x00\x00\x01\x65")
    with pytest.raises(UnsupportedVersionError) as info:
        old.decode_frame(parts)
    assert info.value.version == 2
    v1_parts = encode_frame(make_header(), b"x")  # and what image codecs send stays readable
    assert old.decode_frame(v1_parts)[0] == old.FrameHeader(**msgpack.unpackb(v1_parts[0]))
