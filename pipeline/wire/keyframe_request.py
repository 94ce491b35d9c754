"""Keyframe requests from the decoder back to a camera (``docs/protocol.md``, Keyframe requests).

RTCP's picture loss indication (PLI, RFC 4585 6.3.1) for these streams: when a video stream
loses a packet, the decoder asks its camera to code the next frame as a keyframe instead of
waiting for the periodic one. The decoder publishes on a PUB socket and each camera subscribes
to its own topic, so one request is one ZeroMQ multipart message of exactly two parts:

1. the topic, ``rig_id/side`` in UTF-8 (:func:`request_topic`: what a camera subscribes to;
   ``/`` is in no rig id, and a side is ``left`` or ``right``, so no camera's topic is a
   prefix of another's);
2. a msgpack map of at most :data:`MAX_REQUEST_BYTES`: ``{"version": 1, "rig_id", "side",
   "stream_id", "packet"}``, every key required and no other allowed, each checked as the frame
   header checks its fields; the topic must be the map's ``rig_id/side``.

:func:`decode_request` raises a :class:`~pipeline.wire.ProtocolError` subclass for anything
else, never another exception; the camera counts it and ignores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import msgpack

from pipeline.wire.errors import MalformedMessageError, UnsupportedVersionError
from pipeline.wire.protocol import (
    _INT64_MAX,
    SIDES,
    _as_view,
    _check_id,
    _check_int,
    _check_keys,
    _unpack_header,
)

REQUEST_VERSION = 1
"""The version of a keyframe request (its own numbering, apart from the frame messages')."""
MAX_REQUEST_BYTES = 256
"""The largest request map accepted (a valid one packs to at most 129 bytes)."""
_WHAT = "keyframe request"


@dataclass(frozen=True)
class KeyframeRequest:
    """A request that camera ``rig_id``/``side`` code its next frame as a keyframe, valid only
    while that camera's stream is ``stream_id`` (the ``stream.id`` of the frame that showed
    the loss): a camera that restarted since runs a new stream, which starts with a keyframe,
    and ignores it. ``packet``: that frame's ``stream.packet``; a camera that has coded a
    keyframe after it already repairs the loss (its own send queue's forced keyframe, or a
    periodic one) and ignores the request too, as RTCP's FIR carries a sequence number so that
    a repeated request does not cost a second keyframe. Every field is checked when the request
    is built."""

    rig_id: str
    side: str
    stream_id: int
    packet: int

    def __post_init__(self) -> None:
        _check_id("rig_id", self.rig_id, _WHAT)
        if type(self.side) is not str or self.side not in SIDES:
            raise MalformedMessageError(f"{_WHAT} field 'side' must be 'left' or 'right'")
        _check_int("stream_id", self.stream_id, 0, _INT64_MAX, _WHAT)
        _check_int("packet", self.packet, 0, _INT64_MAX, _WHAT)


_KEYS = frozenset({"version"} | {f.name for f in fields(KeyframeRequest)})


def request_topic(rig_id: str, side: str) -> bytes:
    """The topic (first part) of the requests for camera ``rig_id``/``side``: what it
    subscribes to."""
    return f"{rig_id}/{side}".encode()


def encode_request(request: KeyframeRequest) -> list[bytes]:
    """The two parts ``[topic, msgpack map]`` of ``request``, for ``send_multipart``."""
    packed = msgpack.packb({"version": REQUEST_VERSION, **asdict(request)}, use_bin_type=True)
    return [request_topic(request.rig_id, request.side), packed]


def decode_request(parts: Sequence[Any]) -> KeyframeRequest:
    """Parse one received request message (bytes-likes or ``zmq.Frame`` parts).

    Raises :class:`UnsupportedVersionError` for a version other than :data:`REQUEST_VERSION`
    and :class:`MalformedMessageError` for anything else that is wrong; never anything else.
    """
    if len(parts) != 2:
        raise MalformedMessageError(f"expected 2 {_WHAT} parts, got {len(parts)}")
    topic, body = (_as_view(part) for part in parts)
    fields_map = _unpack_header(body, MAX_REQUEST_BYTES, _WHAT)
    version = fields_map.get("version")
    if type(version) is not int:
        raise MalformedMessageError(f"{_WHAT} field 'version' missing or not an int: {version!r}")
    if version != REQUEST_VERSION:
        raise UnsupportedVersionError(version)
    _check_keys(fields_map, _KEYS, _WHAT)
    del fields_map["version"]
    request = KeyframeRequest(**fields_map)
    if topic.tobytes() != request_topic(request.rig_id, request.side):
        raise MalformedMessageError(
            f"{_WHAT} topic {topic.tobytes()[:80]!r} is not its rig_id/side "
            f"{request.rig_id}/{request.side}"
        )
    return request
