"""Frame messages between a camera node and the decoder (``docs/protocol.md``).

One frame is one ZeroMQ multipart message of exactly two parts:

1. a msgpack map, the :class:`FrameHeader` (at most :data:`MAX_HEADER_BYTES`);
2. the codec bitstream (``docs/bitstream.md``), sent as its own part so that
   ``send_multipart(parts, copy=False)`` hands the encoder's buffer to ZeroMQ without a copy.

Two versions: 1 (every image codec) and 2, version 1's header plus a ``stream`` map
(:class:`StreamInfo`: codec, stream id, packet counter, keyframe flag) that only video codecs
send. This build reads both; a version-1-only decoder refuses a version 2 message with
:class:`UnsupportedVersionError` before it looks at any other key.

The receiver checks the part count, the header size, the version, and every field's type and
range before it trusts anything; each failure is a typed :class:`ProtocolError` that the decoder
counts and drops. The bitstream itself is checked later by the codec (``read_header``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import msgpack

from pipeline.wire.errors import MalformedMessageError, UnsupportedVersionError

PROTOCOL_VERSION = 1
"""The version of a message without a stream: what every image codec sends."""
STREAM_PROTOCOL_VERSION = 2
"""The version of a video codec's message: version 1's header plus ``stream``."""
SUPPORTED_VERSIONS = (PROTOCOL_VERSION, STREAM_PROTOCOL_VERSION)
"""The versions this build reads."""
STREAM_CODECS = ("h264", "hevc", "av1")
"""The codecs a ``stream`` may name (``pipeline.codec.video.VIDEO_CODECS``)."""
MAX_HEADER_BYTES = 1024
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
SIDES = ("left", "right")

_INT64_MAX = 2**63 - 1
_MAX_DIM = 65535
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}")


@dataclass(frozen=True)
class StreamInfo:
    """The ``stream`` map of a version 2 header: where a video packet sits in its stream.

    ``codec``: which decoder the stream needs (one of :data:`STREAM_CODECS`); ``id``: the
    stream, random for each encoder start (a camera restart starts a new stream); ``packet``:
    the stream's packet counter from 0, one up per packet sent or dropped by the camera, apart
    from ``seq``, so a decoder sees a gap; ``keyframe``: the packet decodes on its own and
    carries the codec's parameter sets (a decoder can join the stream here). ``keyframe`` is a
    msgpack boolean (an int is refused), the others as in :class:`FrameHeader`.
    """

    codec: str
    id: int
    packet: int
    keyframe: bool

    def __post_init__(self) -> None:
        if type(self.codec) is not str or self.codec not in STREAM_CODECS:
            raise MalformedMessageError(
                f"header field 'stream.codec' must be one of {', '.join(STREAM_CODECS)}: "
                f"{self.codec!r}"
            )
        _check_int("stream.id", self.id, 0, _INT64_MAX)
        _check_int("stream.packet", self.packet, 0, _INT64_MAX)
        if type(self.keyframe) is not bool:
            raise MalformedMessageError(
                f"header field 'stream.keyframe' must be a boolean: {self.keyframe!r}"
            )


@dataclass(frozen=True)
class FrameHeader:
    """The header of one frame message; every field is checked when the header is built.

    ``capture_ns`` is ``time.time_ns()`` right after the frame was read, on the camera's clock
    (plus the node's configured ``clock_offset_ns``); ``send_ns`` is the same clock just before
    the message was handed to ZeroMQ. ``seq`` is the frame index: for triggered sources the left
    and right views of one instant carry the same ``seq``. ``model_id``, ``quality`` and the
    shape repeat what the bitstream's own header says, so the decoder can batch and route without
    parsing the bitstream. ``stream``: None in a version 1 header, a :class:`StreamInfo` in a
    version 2 one (:func:`version_for` gives the version to send).
    """

    version: int
    rig_id: str
    side: str
    seq: int
    capture_ns: int
    send_ns: int
    model_id: str
    quality: int
    height: int
    width: int
    channels: int
    stream: StreamInfo | None = None

    def __post_init__(self) -> None:
        _validate(self)


def version_for(stream: StreamInfo | None) -> int:
    """The protocol version of a message with ``stream``: 2 with one, 1 without."""
    return PROTOCOL_VERSION if stream is None else STREAM_PROTOCOL_VERSION


def encode_frame(header: FrameHeader, bitstream: bytes | memoryview) -> list[Any]:
    """The two message parts ``[msgpack header, bitstream]`` for ``send_multipart(copy=False)``.

    The bitstream object is passed through untouched (no copy). Raises
    :class:`MalformedMessageError` if the bitstream is empty or larger than
    :data:`MAX_PAYLOAD_BYTES`.
    """
    _check_payload_size(memoryview(bitstream).nbytes)
    fields_map = asdict(header)
    if header.stream is None:
        del fields_map["stream"]
    packed = msgpack.packb(fields_map, use_bin_type=True)
    return [packed, bitstream]


def decode_frame(frames: Sequence[Any]) -> tuple[FrameHeader, bytes]:
    """Parse the parts of one received message into ``(header, bitstream bytes)``.

    ``frames`` may be ``zmq.Frame`` objects (``recv_multipart(copy=False)``) or bytes-likes.
    Raises :class:`UnsupportedVersionError` for a header of a version not in
    :data:`SUPPORTED_VERSIONS` and :class:`MalformedMessageError` for anything else that is
    wrong; never anything else.
    """
    if len(frames) != 2:
        raise MalformedMessageError(f"expected 2 message parts, got {len(frames)}")
    header_view, payload_view = (_as_view(part) for part in frames)
    _check_payload_size(payload_view.nbytes)
    fields_map = _unpack_header(header_view)
    version = _check_version(fields_map)
    _check_keys(fields_map, _HEADER_KEYS[version], "header")
    if version == STREAM_PROTOCOL_VERSION:
        fields_map["stream"] = _stream_info(fields_map["stream"])
    return FrameHeader(**fields_map), payload_view.tobytes()


def _as_view(part: Any) -> memoryview:
    """A memoryview over one message part, zero-copy for ``zmq.Frame`` and bytes."""
    try:
        return memoryview(getattr(part, "buffer", part)).cast("B")
    except TypeError as e:
        raise MalformedMessageError(f"message part of type {type(part).__name__}") from e


def _check_payload_size(size: int) -> None:
    if size == 0:
        raise MalformedMessageError("empty bitstream part")
    if size > MAX_PAYLOAD_BYTES:
        raise MalformedMessageError(f"bitstream of {size} bytes > {MAX_PAYLOAD_BYTES}")


def _unpack_header(
    view: memoryview, limit: int = MAX_HEADER_BYTES, what: str = "header"
) -> dict[str, Any]:
    """The msgpack map ``view`` holds (``what``: the message part, in the errors), at most
    ``limit`` bytes, checked before it is unpacked."""
    if view.nbytes > limit:
        raise MalformedMessageError(f"{what} of {view.nbytes} bytes > {limit}")
    try:
        obj = msgpack.unpackb(view, raw=False, strict_map_key=True, use_list=False)
    except (ValueError, TypeError, msgpack.UnpackException) as e:
        raise MalformedMessageError(f"{what} is not msgpack: {e}") from e
    if not isinstance(obj, dict):
        raise MalformedMessageError(f"{what} is a msgpack {type(obj).__name__}, not a map")
    return obj


def _check_version(fields_map: dict[str, Any]) -> int:
    version = fields_map.get("version")
    if type(version) is not int:
        raise MalformedMessageError(f"header field 'version' missing or not an int: {version!r}")
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(version)
    return version


_V1_KEYS = frozenset(f.name for f in fields(FrameHeader)) - {"stream"}
_HEADER_KEYS = {PROTOCOL_VERSION: _V1_KEYS, STREAM_PROTOCOL_VERSION: _V1_KEYS | {"stream"}}
"""The keys of a header map, by version."""
_STREAM_KEYS = frozenset(f.name for f in fields(StreamInfo))


def _check_keys(fields_map: dict[Any, Any], expected: frozenset[str], where: str) -> None:
    missing = sorted(expected - fields_map.keys())
    if missing:
        raise MalformedMessageError(f"{where} fields missing: {', '.join(missing)}")
    unknown = sorted(str(k) for k in fields_map.keys() - expected)
    if unknown:
        raise MalformedMessageError(f"unknown {where} fields: {', '.join(unknown)}")


def _stream_info(value: Any) -> StreamInfo:
    if not isinstance(value, dict):
        raise MalformedMessageError(f"header field 'stream' must be a map: {value!r}")
    _check_keys(value, _STREAM_KEYS, "stream")
    return StreamInfo(**value)


def _validate(h: FrameHeader) -> None:
    _check_int("version", h.version, 0, _INT64_MAX)
    if h.version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(h.version)
    if h.stream is not None and not isinstance(h.stream, StreamInfo):
        raise MalformedMessageError(f"header field 'stream' must be a StreamInfo: {h.stream!r}")
    if h.version != version_for(h.stream):
        raise MalformedMessageError(
            f"a version {h.version} header {'has no' if h.stream is None else 'has a'} stream"
        )
    _check_id("rig_id", h.rig_id)
    if h.side not in SIDES:
        raise MalformedMessageError(f"header field 'side' must be 'left' or 'right': {h.side!r}")
    _check_int("seq", h.seq, 0, _INT64_MAX)
    _check_int("capture_ns", h.capture_ns, 0, _INT64_MAX)
    _check_int("send_ns", h.send_ns, 0, _INT64_MAX)
    _check_id("model_id", h.model_id)
    _check_int("quality", h.quality, 0, 255)
    _check_int("height", h.height, 1, _MAX_DIM)
    _check_int("width", h.width, 1, _MAX_DIM)
    if h.channels not in (1, 3) or type(h.channels) is not int:
        raise MalformedMessageError(f"header field 'channels' must be 1 or 3: {h.channels!r}")


def _check_int(name: str, value: Any, lo: int, hi: int, what: str = "header") -> None:
    if type(value) is not int:
        raise MalformedMessageError(f"{what} field {name!r} must be an int: {value!r}")
    if not lo <= value <= hi:
        raise MalformedMessageError(f"{what} field {name!r} out of range [{lo}, {hi}]: {value}")


def _check_id(name: str, value: Any, what: str = "header") -> None:
    if type(value) is not str or not ID_PATTERN.fullmatch(value):
        raise MalformedMessageError(
            f"{what} field {name!r} must be 1-64 chars of [A-Za-z0-9_.:+-]: {value!r}"
        )
