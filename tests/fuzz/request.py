"""Fuzz target ``request``: :func:`pipeline.wire.decode_request` on hostile keyframe requests.

Contract (``docs/protocol.md``, Keyframe requests): every message either parses into a
:class:`~pipeline.wire.KeyframeRequest` that re-encodes to the same message, or raises a
:class:`~pipeline.wire.ProtocolError` subclass. Inputs: a valid request map with fields
replaced by any msgpack value, keys removed or added, the version swapped; the packed map
byte-mutated; arbitrary bytes; a topic that is the map's, another camera's, or noise; wrong
part counts and parts that are not buffers at all.
"""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import strategies as st

from pipeline.wire import (
    MAX_REQUEST_BYTES,
    KeyframeRequest,
    ProtocolError,
    decode_request,
    encode_request,
)
from tests.fuzz.target import Target
from tests.fuzz.wire import damaged, map_parts, multipart

VALID = KeyframeRequest("rig0", "left", 0x1234_5678_9ABC_DEF0, 31)
VALID_PARTS = encode_request(VALID)
FIELD_NAMES = ("version", "rig_id", "side", "stream_id", "packet")


@st.composite
def request_maps(draw) -> dict[Any, Any]:
    """A valid request map with some fields replaced, removed, or joined by unknown keys."""
    return damaged(draw, msgpack.unpackb(VALID_PARTS[1]), FIELD_NAMES)


def bodies() -> st.SearchStrategy[bytes]:
    """The map part: :func:`~tests.fuzz.wire.map_parts` of request maps."""
    return map_parts(request_maps(), MAX_REQUEST_BYTES)


def topics() -> st.SearchStrategy[Any]:
    """The topic part: the valid one, another camera's, noise, or a non-buffer."""
    return st.one_of(
        st.just(VALID_PARTS[0]),
        st.sampled_from((b"rig0/right", b"rig1/left", b"rig0/left/", b"", b"rig0")),
        st.binary(max_size=80),
        st.sampled_from((None, 7, "rig0/left", 1.5)),
    )


def messages() -> st.SearchStrategy[list[Any]]:
    """One request message: a topic and a map part (:func:`~tests.fuzz.wire.multipart`)."""
    return multipart(topics(), bodies())


def check(parts: list[Any]) -> None:
    """Parse one message; a parsed one must re-encode to the message and parse to itself."""
    try:
        request = decode_request(parts)
    except ProtocolError:
        return
    assert isinstance(request, KeyframeRequest)
    assert decode_request(encode_request(request)) == request
    assert encode_request(request)[0] == bytes(parts[0])


TARGET = Target(
    name="request",
    inputs=messages,
    check=check,
    setup=lambda: check(VALID_PARTS),
    memory_mib=1024,
    timeout_s=10.0,
)
